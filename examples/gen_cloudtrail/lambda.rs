//! Injected Lambda events and their ground truth.
//!
//! Each scenario is built from explicit choices (operation, identity kind, layer state, error
//! state), and the verdict of each seed rule is derived from those choices, not by evaluating
//! the finished record. `verdict.rs` evaluates finished records independently; the tests check
//! that both agree.
//!
//! There is no public `PublishLayerVersion20181031` record to learn from; that shape is built
//! from the Lambda API (request: layer name, content location, runtimes; response: layer and
//! version ARNs) and is synthetic.

use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::events::{assemble, caller_arn, Draft};
use super::rng::Rng;
use super::world::{Actor, Kind, World};

/// The Lambda operation of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `UpdateFunctionConfiguration20150331v2`.
    UpdateConfig,
    /// `PublishLayerVersion20181031`.
    PublishLayer,
    /// `UpdateFunctionCode20150331v2`.
    UpdateCode,
}

/// What `responseElements.layers` looks like (for `UpdateConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layers {
    /// One or more layers, some from a foreign account.
    Present,
    /// An empty list (all layers removed).
    Empty,
    /// No `layers` key (the function has none and the request did not touch them).
    Absent,
}

/// How the call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// No error fields.
    Success,
    /// `errorCode: ""` and no message: a success for both rules.
    EmptyErrorCode,
    /// `errorCode: ""` with a non-empty `errorMessage`: a failure for both rules.
    EmptyCodeWithMessage,
    /// A real error code and message.
    Failed,
}

/// One injected event's construction.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    /// Operation.
    pub op: Op,
    /// Identity kind of the caller.
    pub kind: Kind,
    /// Layer state of the response.
    pub layers: Layers,
    /// Error state.
    pub outcome: Outcome,
}

/// Ground truth of one injected event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truth {
    /// `eventID` of the record.
    pub event_id: String,
    /// Whether Panther's `AWS.Lambda.UpdateFunctionConfiguration` fires.
    pub panther: bool,
    /// Whether Elastic's "AWS Lambda Layer Added to Existing Function" fires.
    pub elastic: bool,
}

impl Scenario {
    /// Draws a scenario.
    pub fn draw(rng: &mut Rng) -> Scenario {
        let op =
            [Op::UpdateConfig, Op::PublishLayer, Op::UpdateCode][rng.weighted(&[70.0, 18.0, 12.0])];
        let kind = [
            Kind::IamUser,
            Kind::Federated,
            Kind::Sso,
            Kind::Role,
            Kind::Root,
            Kind::Service,
        ][rng.weighted(&[25.0, 12.0, 25.0, 25.0, 5.0, 8.0])];
        let layers =
            [Layers::Present, Layers::Empty, Layers::Absent][rng.weighted(&[55.0, 20.0, 25.0])];
        let outcome = [
            Outcome::Success,
            Outcome::EmptyErrorCode,
            Outcome::EmptyCodeWithMessage,
            Outcome::Failed,
        ][rng.weighted(&[65.0, 10.0, 5.0, 20.0])];
        Scenario {
            op,
            kind,
            layers,
            outcome,
        }
    }

    /// Both rules' success test: `errorCode` and `errorMessage` both absent, null or "".
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome, Outcome::Success | Outcome::EmptyErrorCode)
    }

    /// Panther: a successful `UpdateFunctionConfiguration20150331v2` with non-empty
    /// `responseElements.layers` by an IAM user, a federated user or an SSO user.
    pub fn panther(&self) -> bool {
        self.succeeded()
            && self.op == Op::UpdateConfig
            && self.layers == Layers::Present
            && matches!(self.kind, Kind::IamUser | Kind::Federated | Kind::Sso)
    }

    /// Elastic: any successful `PublishLayerVersion*` or `UpdateFunctionConfiguration*`.
    pub fn elastic(&self) -> bool {
        self.succeeded() && matches!(self.op, Op::UpdateConfig | Op::PublishLayer)
    }
}

fn function_config(
    rng: &mut Rng,
    region: &str,
    acct: &str,
    function: &str,
    layers: Option<Vec<Value>>,
) -> Value {
    let mut v = json!({
        "functionName": function,
        "functionArn": format!("arn:aws:lambda:{region}:{acct}:function:{function}"),
        "runtime": rng.pick(&["python3.12", "nodejs20.x", "java21", "provided.al2023"]),
        "role": format!("arn:aws:iam::{acct}:role/{function}-lambda-exec"),
        "handler": "app.handler",
        "codeSize": rng.range(2_000, 40_000_000),
        "description": if rng.chance(0.4) { String::new() } else { format!("{function} service") },
        "timeout": rng.pick(&[3, 10, 30, 60, 900]),
        "memorySize": rng.pick(&[128, 256, 512, 1024]),
        "lastModified": "2026-03-14T09:00:00.000+0000",
        "codeSha256": format!("{}=", rng.alnum(43)),
        "version": "$LATEST",
        "environment": {},
        "tracingConfig": {"mode": "PassThrough"},
        "revisionId": rng.uuid(),
    });
    if let Some(layers) = layers {
        v["layers"] = Value::Array(layers);
    }
    for (k, x) in [
        ("state", json!("Active")),
        ("lastUpdateStatus", json!("InProgress")),
        (
            "lastUpdateStatusReason",
            json!("The function is being created."),
        ),
        ("lastUpdateStatusReasonCode", json!("Creating")),
        ("packageType", json!("Zip")),
        ("architectures", json!([rng.pick(&["x86_64", "arm64"])])),
        ("ephemeralStorage", json!({"size": 512})),
        (
            "snapStart",
            json!({"applyOn": "None", "optimizationStatus": "Off"}),
        ),
        (
            "loggingConfig",
            json!({"logFormat": "Text", "logGroup": format!("/aws/lambda/{function}")}),
        ),
    ] {
        v[k] = x;
    }
    v
}

/// Builds the record of a scenario at `time`; returns it with its ground truth.
pub fn build(sc: &Scenario, rng: &mut Rng, world: &World, time: DateTime<Utc>) -> (Value, Truth) {
    let candidates: Vec<&Actor> = world.actors_of(sc.kind);
    let actor = candidates[rng.below(candidates.len())];
    let mut session = actor.session(world, time);
    if sc.kind == Kind::Service {
        session.region = "us-east-1";
    }
    let acct = &world.accounts[actor.account];
    let region = session.region;
    let function = rng.pick(&acct.functions).clone();
    let layer_arn = |rng: &mut Rng| -> String {
        if rng.chance(0.5) {
            let foreign = rng.pick(&world.foreign_accounts).clone();
            let name = rng
                .pick(&["ext-telemetry", "perf-boost", "log-shipper", "chromium"])
                .to_string();
            format!(
                "arn:aws:lambda:{region}:{foreign}:layer:{name}:{}",
                rng.range(1, 40)
            )
        } else {
            format!(
                "arn:aws:lambda:{region}:{}:layer:{}:{}",
                acct.id,
                rng.pick(&acct.layers),
                rng.range(1, 25)
            )
        }
    };
    let mut d = match sc.op {
        Op::UpdateConfig => {
            let mut d = Draft::new(
                "lambda.amazonaws.com",
                "UpdateFunctionConfiguration20150331v2",
                false,
            );
            let arns: Vec<String> = (0..rng.range(1, 3)).map(|_| layer_arn(rng)).collect();
            let mut req = json!({"functionName": if rng.chance(0.5) { function.clone() } else { format!("arn:aws:lambda:{region}:{}:function:{function}", acct.id) }});
            match sc.layers {
                Layers::Present => req["layers"] = json!(arns),
                Layers::Empty => req["layers"] = json!([]),
                Layers::Absent => {
                    req["timeout"] = json!(rng.pick(&[30, 60, 120]));
                    req["environment"] = json!({});
                }
            }
            d.request = req;
            let layers = match sc.layers {
                Layers::Present => Some(
                    arns.iter()
                        .map(|a| json!({"arn": a, "codeSize": rng.range(1_000, 50_000_000)}))
                        .collect(),
                ),
                Layers::Empty => Some(vec![]),
                Layers::Absent => None,
            };
            d.response = function_config(rng, region, &acct.id, &function, layers);
            d
        }
        Op::PublishLayer => {
            let mut d = Draft::new("lambda.amazonaws.com", "PublishLayerVersion20181031", false);
            let name = rng.pick(&acct.layers).clone();
            let version = rng.range(2, 30);
            d.request = json!({
                "layerName": name,
                "description": "",
                "content": {"s3Bucket": rng.pick(&acct.buckets), "s3Key": format!("layers/{name}-{}.zip", rng.hex(8))},
                "compatibleRuntimes": ["python3.12", "python3.11"],
                "compatibleArchitectures": ["x86_64"]
            });
            d.response = json!({
                "content": {"location": "", "codeSha256": format!("{}=", rng.alnum(43)), "codeSize": rng.range(1_000, 50_000_000)},
                "layerArn": format!("arn:aws:lambda:{region}:{}:layer:{name}", acct.id),
                "layerVersionArn": format!("arn:aws:lambda:{region}:{}:layer:{name}:{version}", acct.id),
                "description": "",
                "createdDate": "2026-03-14T09:00:00.000+0000",
                "version": version,
                "compatibleRuntimes": ["python3.12", "python3.11"],
                "compatibleArchitectures": ["x86_64"]
            });
            d
        }
        Op::UpdateCode => {
            let mut d = Draft::new(
                "lambda.amazonaws.com",
                "UpdateFunctionCode20150331v2",
                false,
            );
            d.request = json!({"functionName": function, "s3Bucket": rng.pick(&acct.buckets), "s3Key": format!("builds/{function}-{}.zip", rng.hex(8)), "publish": false, "dryRun": false});
            let layers = (sc.layers == Layers::Present).then(|| {
                vec![json!({"arn": layer_arn(rng), "codeSize": rng.range(1_000, 5_000_000)})]
            });
            d.response = function_config(rng, region, &acct.id, &function, layers);
            d
        }
    };
    let arn = caller_arn(actor, world, &session);
    match sc.outcome {
        Outcome::Success => {}
        Outcome::EmptyErrorCode => d.error_code = Some(String::new()),
        Outcome::EmptyCodeWithMessage => {
            d.error_code = Some(String::new());
            d.error_message = Some(format!("User: {arn} is not authorized to perform: lambda:{} on resource: arn:aws:lambda:{region}:{}:function:{function}", d.name.trim_end_matches(|c: char| c.is_ascii_digit() || c == 'v'), acct.id));
            d.response = Value::Null;
        }
        Outcome::Failed => {
            let (code, msg) = *rng.pick(&[
                ("AccessDeniedException", "User: {arn} is not authorized to perform: lambda:UpdateFunctionConfiguration because no identity-based policy allows the lambda:UpdateFunctionConfiguration action"),
                ("ResourceConflictException", "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:{region}:{acct}:function:{function}"),
                ("InvalidParameterValueException", "Layers consume more than the available size of 262144000 bytes"),
                ("ResourceNotFoundException", "Function not found: arn:aws:lambda:{region}:{acct}:function:{function}"),
            ]);
            d.error_code = Some(code.to_string());
            d.error_message = Some(
                msg.replace("{arn}", &arn)
                    .replace("{region}", region)
                    .replace("{acct}", &acct.id)
                    .replace("{function}", &function),
            );
            d.response = Value::Null;
        }
    }
    let event_id = rng.uuid();
    let record = assemble(d, rng, world, actor, &session, time, event_id.clone());
    let truth = Truth {
        event_id,
        panther: sc.panther(),
        elastic: sc.elastic(),
    };
    (record, truth)
}
