//! The synthetic CloudTrail generator behind `examples/gen_cloudtrail.rs`: an organisation
//! ([`world`]), background traffic ([`events`]), injected Lambda events with ground truth
//! ([`lambda`]), independent rule verdicts ([`verdict`]), time placement ([`timeline`]) and
//! the output formats ([`output`]).
//!
//! [`Generator`] is an iterator: memory stays bounded whatever the count.

pub mod events;
pub mod lambda;
pub mod output;
pub mod rng;
pub mod timeline;
pub mod verdict;
pub mod world;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use events::{assemble, class_weights, draft, fail, run_instances, TEMPLATES};
use lambda::{Scenario, Truth};
use rng::{mix, Rng, Weighted};
use timeline::Timeline;
use world::{Class, World};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Number of records.
    pub count: u64,
    /// Seed: the output is a function of the seed and the other settings.
    pub seed: u64,
    /// Share of records replaced by injected Lambda scenarios.
    pub lambda_rate: f64,
    /// First possible event time.
    pub start: DateTime<Utc>,
    /// Length of the time range.
    pub span: Duration,
    /// Share of background calls that fail.
    pub error_rate: f64,
    /// Share of records that are very large (`RunInstances` of many instances).
    pub large_rate: f64,
}

/// One generated record.
#[derive(Debug, Clone)]
pub struct Generated {
    /// The raw CloudTrail record.
    pub record: Value,
    /// Its `eventTime`.
    pub time: DateTime<Utc>,
    /// Ground truth, for injected Lambda events.
    pub truth: Option<Truth>,
}

/// Streams `count` records in (jittered) time order.
pub struct Generator {
    cfg: Config,
    world: World,
    timeline: Timeline,
    rng: Rng,
    next: u64,
    last_time: Option<DateTime<Utc>>,
    actor_pick: Weighted,
    template_pick: [Weighted; 3],
}

impl Generator {
    /// A generator for `cfg`.
    pub fn new(cfg: Config) -> Generator {
        let world = World::new(cfg.seed);
        let timeline = Timeline::new(cfg.start, cfg.span, cfg.seed);
        let activity: Vec<f64> = world.actors.iter().map(|a| a.activity).collect();
        Generator {
            rng: Rng::new(mix(&[cfg.seed, 0xE7E7])),
            actor_pick: Weighted::new(&activity),
            template_pick: [
                Weighted::new(&class_weights(Class::Human)),
                Weighted::new(&class_weights(Class::Auto)),
                Weighted::new(&class_weights(Class::Service)),
            ],
            world,
            timeline,
            next: 0,
            last_time: None,
            cfg,
        }
    }

    fn background(&mut self, time: DateTime<Utc>) -> Value {
        let rng = &mut self.rng;
        let world = &self.world;
        let actor = &world.actors[self.actor_pick.sample(rng)];
        let session = actor.session(world, time);
        let class_index = match actor.class {
            Class::Human => 0,
            Class::Auto => 1,
            Class::Service => 2,
        };
        let template = &TEMPLATES[self.template_pick[class_index].sample(rng)];
        let mut d = draft(template, rng, world, actor, &session);
        if rng.chance(self.cfg.large_rate) {
            let count = rng.range(40, 400) as usize;
            d = events::Draft::new("ec2.amazonaws.com", "RunInstances", false);
            run_instances(&mut d, rng, world, actor, session.region, count);
        }
        let error_rate = if actor.class == Class::Auto {
            self.cfg.error_rate * 1.3
        } else {
            self.cfg.error_rate
        };
        if d.event_type == "AwsApiCall" && d.name != "ConsoleLogin" && rng.chance(error_rate) {
            let arn = events::caller_arn(actor, world, &session);
            fail(&mut d, rng, &arn);
        }
        let id = rng.uuid();
        assemble(d, rng, world, actor, &session, time, id)
    }
}

impl Iterator for Generator {
    type Item = Generated;

    fn next(&mut self) -> Option<Generated> {
        if self.next >= self.cfg.count {
            return None;
        }
        let i = self.next;
        self.next += 1;
        // Jittered spacing, but never earlier than the previous record.
        let mut time = self.timeline.at(i, self.cfg.count, 2_000, &mut self.rng);
        if let Some(last) = self.last_time {
            time = time.max(last);
        }
        self.last_time = Some(time);
        if self.rng.chance(self.cfg.lambda_rate) {
            let sc = Scenario::draw(&mut self.rng);
            let (record, truth) = lambda::build(&sc, &mut self.rng, &self.world, time);
            return Some(Generated {
                record,
                time,
                truth: Some(truth),
            });
        }
        let record = self.background(time);
        Some(Generated {
            record,
            time,
            truth: None,
        })
    }
}
