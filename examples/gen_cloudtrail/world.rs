//! The synthetic organisation: accounts, the people and machines acting in them, and their
//! resources. Built once from the seed, so identities stay consistent across the whole output:
//! a principal always has the same ids, ARNs, home addresses and tools.
//!
//! All names are invented; addresses come from the documentation ranges (RFC 5737, RFC 3849)
//! and private ranges.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

use super::rng::{mix, Rng};

/// How a principal authenticates, i.e. the shape of its `userIdentity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `IAMUser` with long-term (AKIA) or console session (ASIA) keys.
    IamUser,
    /// `AssumedRole` through an IAM Identity Center permission set (`AWSReservedSSO_…`).
    Sso,
    /// `AssumedRole` of an ordinary role (CI/CD, Terraform, applications, instances).
    Role,
    /// `FederatedUser` from `GetFederationToken` by a broker IAM user.
    Federated,
    /// The account root user.
    Root,
    /// An AWS service acting on its own (`AWSService`).
    Service,
}

/// What kind of traffic a principal produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// People: console and CLI, mixed reads and some writes.
    Human,
    /// Pipelines, Terraform, applications: many reads, SDK user agents.
    Auto,
    /// AWS services calling on behalf of the account.
    Service,
}

/// One acting principal.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Stable index (also used to derive per-actor random streams).
    pub id: usize,
    /// Identity shape.
    pub kind: Kind,
    /// Traffic class.
    pub class: Class,
    /// Index of the account in [`World::accounts`].
    pub account: usize,
    /// IAM user name, role name, federated user name or service host.
    pub name: String,
    /// AIDA…/AROA… id of the user or role (empty for root and services).
    pub unique_id: String,
    /// Role path (`/`, `/aws-reserved/sso.amazonaws.com/`, …).
    pub path: String,
    /// Session names used with a role (person emails for SSO, instance ids, pipeline names).
    pub sessions: Vec<String>,
    /// For federated users: the broker IAM user (name, AIDA id).
    pub broker: Option<(String, String)>,
    /// Long-term access key of an IAM user.
    pub long_term_key: String,
    /// Source addresses this principal calls from.
    pub ips: Vec<String>,
    /// User agents this principal uses.
    pub user_agents: Vec<String>,
    /// How busy it is relative to others.
    pub activity: f64,
}

/// One AWS account and its resources.
#[derive(Debug, Clone)]
pub struct Account {
    /// 12-digit account id.
    pub id: String,
    /// Short alias used in resource names (`prod`, `dev`, …).
    pub alias: String,
    /// S3 bucket names.
    pub buckets: Vec<String>,
    /// EC2 instance ids.
    pub instances: Vec<String>,
    /// KMS key ids (UUIDs).
    pub keys: Vec<String>,
    /// SSM parameter names.
    pub parameters: Vec<String>,
    /// Secrets Manager secret names.
    pub secrets: Vec<String>,
    /// Lambda function names.
    pub functions: Vec<String>,
    /// Lambda layer names published in this account.
    pub layers: Vec<String>,
    /// Security group ids.
    pub security_groups: Vec<String>,
    /// Subnet ids.
    pub subnets: Vec<String>,
    /// VPC id.
    pub vpc: String,
    /// VPC endpoint ids for calls from inside the VPC.
    pub vpc_endpoints: Vec<String>,
    /// Role names that exist (targets of AssumeRole, GetRole, …).
    pub role_names: Vec<String>,
    /// IAM user names.
    pub user_names: Vec<String>,
}

/// The whole synthetic organisation.
#[derive(Debug, Clone)]
pub struct World {
    /// Seed the world was built from (per-actor streams derive from it).
    pub seed: u64,
    /// Accounts, most traffic in the first.
    pub accounts: Vec<Account>,
    /// Relative traffic of each account.
    pub account_weights: Vec<f64>,
    /// All principals.
    pub actors: Vec<Actor>,
    /// Accounts outside the organisation (owners of foreign Lambda layers).
    pub foreign_accounts: Vec<String>,
    /// Regions and their traffic share.
    pub regions: Vec<(&'static str, f64)>,
}

const FIRST: &[&str] = &[
    "alex", "blake", "casey", "dana", "eli", "frankie", "gale", "harper", "indy", "jules", "kai",
    "logan", "morgan", "noel", "oakley", "parker", "quinn", "reese", "sage", "taylor", "uma",
    "val", "wren", "yael", "zion", "arden", "bailey", "cameron", "drew", "emery",
];
const LAST: &[&str] = &[
    "anders",
    "brook",
    "castell",
    "delacroix",
    "ellery",
    "fairweather",
    "grant",
    "holloway",
    "ivers",
    "jansen",
    "kestrel",
    "lind",
    "marlow",
    "northcott",
    "okafor",
    "pell",
    "quade",
    "rowan",
    "stroud",
    "thorne",
    "underhill",
    "vance",
    "whitlock",
    "yardley",
    "zeller",
];
const PERMISSION_SETS: &[&str] = &[
    "AdministratorAccess",
    "PowerUserAccess",
    "ReadOnlyAccess",
    "SecurityAudit",
    "DataEngineering",
    "Billing",
];
const FUNCTIONS: &[&str] = &[
    "orders-api",
    "image-resizer",
    "billing-export",
    "slack-notifier",
    "auth-authorizer",
    "nightly-report",
    "etl-loader",
    "webhook-handler",
    "search-indexer",
    "audit-forwarder",
];
const SERVICES: &[&str] = &[
    "ec2.amazonaws.com",
    "cloudformation.amazonaws.com",
    "autoscaling.amazonaws.com",
    "lambda.amazonaws.com",
    "ssm.amazonaws.com",
    "config.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "access-analyzer.amazonaws.com",
    "secretsmanager.amazonaws.com",
    "s3.amazonaws.com",
];

fn cli_agent(rng: &mut Rng) -> String {
    let os = rng.pick(&[
        "macos#23.4.0",
        "macos#24.1.0",
        "linux#6.5.0-35-generic",
        "windows#10",
    ]);
    let arch = rng.pick(&["arm64", "x86_64"]);
    let minor = rng.range(13, 22);
    let patch = rng.range(0, 40);
    let cmd = rng.pick(&[
        "s3.ls",
        "ec2.describe-instances",
        "sts.get-caller-identity",
        "lambda.list-functions",
        "iam.list-roles",
        "ssm.get-parameter",
        "logs.tail",
    ]);
    format!(
        "aws-cli/2.{minor}.{patch} md/awscrt#0.19.19 ua/2.0 os/{os} md/arch#{arch} lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/prompt#off md/command#{cmd}"
    )
}

fn browser_agent(rng: &mut Rng) -> String {
    let v = rng.range(118, 126);
    match rng.below(3) {
        0 => format!("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36"),
        1 => format!("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.0.0"),
        _ => format!("Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0"),
    }
}

fn sdk_agent(rng: &mut Rng) -> String {
    match rng.below(5) {
        0 => {
            let v = rng.range(28, 35);
            format!("Boto3/1.34.{v} md/Botocore#1.34.{v} ua/2.0 os/linux#5.10.213-201.855.amzn2.x86_64 md/arch#x86_64 lang/python#3.11.6 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.{v}")
        }
        1 => format!("aws-sdk-go-v2/1.26.{} os/linux lang/go#1.22.1 md/GOOS#linux md/GOARCH#amd64 api/s3#1.51.4", rng.range(0, 3)),
        2 => format!("aws-sdk-java/2.25.{} Linux/5.10.213-201.855.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. md/internal exec-env/AWS_ECS_FARGATE io/sync http/Apache cfg/retry-mode/legacy", rng.range(1, 30)),
        3 => format!("aws-sdk-js/3.5{}.0 ua/2.0 os/linux#5.10.213 lang/js md/nodejs#20.11.1 api/lambda#3.5{}.0", rng.range(10, 60), rng.range(10, 60)),
        _ => "aws-sdk-go/1.50.38 (go1.21.8; linux; amd64) amazon-ssm-agent/3.3.131.0".to_string(),
    }
}

fn terraform_agent(rng: &mut Rng) -> String {
    let tf = rng.pick(&["1.6.6", "1.7.4", "1.8.2"]);
    let prov = rng.pick(&["5.31.0", "5.40.0", "5.46.0"]);
    format!("APN/1.0 HashiCorp/1.0 Terraform/{tf} (+https://www.terraform.io) terraform-provider-aws/{prov} (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.25.3 ua/2.0 os/linux lang/go#1.21.8 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.150.0")
}

fn public_ip(rng: &mut Rng) -> String {
    if rng.chance(0.05) {
        return format!(
            "2001:db8:{:x}:{:x}::{:x}",
            rng.range(1, 0xfff),
            rng.range(1, 0xff),
            rng.range(1, 0xffff)
        );
    }
    let net = rng.pick(&["203.0.113", "198.51.100"]);
    format!("{net}.{}", rng.range(1, 254))
}

fn ci_ip(rng: &mut Rng) -> String {
    format!("192.0.2.{}", rng.range(1, 254))
}

fn vpc_ip(rng: &mut Rng) -> String {
    format!(
        "10.{}.{}.{}",
        rng.range(0, 3),
        rng.range(0, 255),
        rng.range(4, 250)
    )
}

impl World {
    /// Builds the organisation for `seed`.
    pub fn new(seed: u64) -> World {
        let mut rng = Rng::new(mix(&[seed, 0x0F_0F]));
        let aliases = ["prod", "staging", "dev", "security"];
        let accounts: Vec<Account> = aliases.iter().map(|a| Self::account(&mut rng, a)).collect();
        let foreign_accounts = (0..6).map(|_| rng.digits(12)).collect();
        let mut world = World {
            seed,
            accounts,
            account_weights: vec![0.55, 0.2, 0.2, 0.05],
            actors: Vec::new(),
            foreign_accounts,
            regions: vec![
                ("us-east-1", 0.7),
                ("us-west-2", 0.15),
                ("eu-west-1", 0.1),
                ("ap-southeast-2", 0.05),
            ],
        };
        world.populate(&mut rng);
        world
    }

    fn account(rng: &mut Rng, alias: &str) -> Account {
        let id = rng.digits(12);
        let buckets = [
            "logs",
            "artifacts",
            "data-lake",
            "backups",
            "static-site",
            "exports",
            "athena-results",
        ]
        .iter()
        .map(|b| format!("examplecorp-{alias}-{b}"))
        .chain(std::iter::once(format!("terraform-state-{id}")))
        .collect();
        let parameters = [
            "orders/db-url",
            "orders/api-key",
            "billing/export-bucket",
            "shared/feature-flags",
            "auth/jwt-issuer",
            "etl/batch-size",
            "search/endpoint",
            "slack/webhook-url",
        ]
        .iter()
        .map(|p| format!("/{alias}/{p}"))
        .collect();
        let secrets = [
            "orders-db",
            "billing-api",
            "slack-token",
            "search-admin",
            "etl-warehouse",
        ]
        .iter()
        .map(|s| format!("{alias}/{s}-{}", rng.alnum(6)))
        .collect();
        Account {
            alias: alias.to_string(),
            buckets,
            instances: (0..24).map(|_| format!("i-0{}", rng.hex(16))).collect(),
            keys: (0..6).map(|_| rng.uuid()).collect(),
            parameters,
            secrets,
            functions: FUNCTIONS.iter().map(|f| f.to_string()).collect(),
            layers: vec![
                "common-utils".into(),
                "otel-collector".into(),
                "pandas-runtime".into(),
            ],
            security_groups: (0..8).map(|_| format!("sg-0{}", rng.hex(16))).collect(),
            subnets: (0..6).map(|_| format!("subnet-0{}", rng.hex(16))).collect(),
            vpc: format!("vpc-0{}", rng.hex(16)),
            vpc_endpoints: (0..3).map(|_| format!("vpce-0{}", rng.hex(16))).collect(),
            role_names: Vec::new(),
            user_names: Vec::new(),
            id,
        }
    }

    fn push(&mut self, mut actor: Actor) {
        actor.id = self.actors.len();
        self.actors.push(actor);
    }

    fn populate(&mut self, rng: &mut Rng) {
        // People of the organisation, shared across accounts through SSO.
        let mut people: Vec<String> = Vec::new();
        while people.len() < 36 {
            let p = format!("{}.{}", rng.pick(FIRST), rng.pick(LAST));
            if !people.contains(&p) {
                people.push(p);
            }
        }
        let human_agents = |rng: &mut Rng| -> Vec<String> {
            let mut v = vec![cli_agent(rng), browser_agent(rng)];
            if rng.chance(0.3) {
                v.push("AWS Internal".to_string());
            }
            v
        };
        let home_ips = |rng: &mut Rng| -> Vec<String> {
            (0..rng.range(1, 3)).map(|_| public_ip(rng)).collect()
        };

        for a in 0..self.accounts.len() {
            let acct_weight = self.account_weights[a];
            let alias = self.accounts[a].alias.clone();
            // IAM users: a few people with console/CLI access, and service users.
            for i in 0..6 {
                let name = people[(a * 7 + i * 5) % people.len()].clone();
                let actor = Actor {
                    id: 0,
                    kind: Kind::IamUser,
                    class: Class::Human,
                    account: a,
                    unique_id: format!("AIDA{}", rng.upper_id(17)),
                    long_term_key: format!("AKIA{}", rng.upper_id(16)),
                    path: "/".into(),
                    sessions: vec![],
                    broker: None,
                    ips: home_ips(rng),
                    user_agents: human_agents(rng),
                    activity: acct_weight * rng.range(2, 6) as f64,
                    name,
                };
                self.accounts[a].user_names.push(actor.name.clone());
                self.push(actor);
            }
            for svc in [
                "svc-backup",
                "grafana-reader",
                "ci-legacy",
                "monitoring-exporter",
            ] {
                let actor = Actor {
                    id: 0,
                    kind: Kind::IamUser,
                    class: Class::Auto,
                    account: a,
                    name: svc.to_string(),
                    unique_id: format!("AIDA{}", rng.upper_id(17)),
                    long_term_key: format!("AKIA{}", rng.upper_id(16)),
                    path: "/".into(),
                    sessions: vec![],
                    broker: None,
                    ips: vec![ci_ip(rng), vpc_ip(rng)],
                    user_agents: vec![sdk_agent(rng)],
                    activity: acct_weight * 12.0,
                };
                self.accounts[a].user_names.push(actor.name.clone());
                self.push(actor);
            }
            // SSO permission sets: each person holds one or two.
            for set in PERMISSION_SETS {
                let role = format!("AWSReservedSSO_{set}_{}", rng.hex(16));
                let members: Vec<String> = people
                    .iter()
                    .filter(|_| rng.chance(if *set == "ReadOnlyAccess" { 0.5 } else { 0.2 }))
                    .map(|p| format!("{p}@example.com"))
                    .collect();
                if members.is_empty() {
                    continue;
                }
                let path = if rng.chance(0.3) {
                    "/aws-reserved/sso.amazonaws.com/us-east-1/".to_string()
                } else {
                    "/aws-reserved/sso.amazonaws.com/".to_string()
                };
                let mut ips = Vec::new();
                let mut uas = Vec::new();
                for _ in 0..members.len().min(6) {
                    ips.extend(home_ips(rng));
                    uas.extend(human_agents(rng));
                }
                self.accounts[a].role_names.push(role.clone());
                let activity = acct_weight * members.len() as f64;
                self.push(Actor {
                    id: 0,
                    kind: Kind::Sso,
                    class: Class::Human,
                    account: a,
                    name: role,
                    unique_id: format!("AROA{}", rng.upper_id(17)),
                    long_term_key: String::new(),
                    path,
                    sessions: members,
                    broker: None,
                    ips,
                    user_agents: uas,
                    activity,
                });
            }
            // Ordinary roles: automation.
            let instances = self.accounts[a].instances.clone();
            let roles: Vec<RoleSpec> = vec![
                (
                    "github-actions-deploy".into(),
                    vec!["GitHubActions".into()],
                    (0..4).map(|_| ci_ip(rng)).collect(),
                    vec![sdk_agent(rng), cli_agent(rng)],
                    6.0,
                ),
                (
                    "terraform-apply".into(),
                    (0..3)
                        .map(|_| format!("terraform-{}", rng.digits(10)))
                        .collect(),
                    (0..3).map(|_| ci_ip(rng)).collect(),
                    vec![terraform_agent(rng)],
                    10.0,
                ),
                (
                    format!("{alias}-app-orders"),
                    instances[..6].to_vec(),
                    (0..6).map(|_| vpc_ip(rng)).collect(),
                    vec![sdk_agent(rng)],
                    14.0,
                ),
                (
                    format!("{alias}-eks-node-group"),
                    instances[6..14].to_vec(),
                    (0..8).map(|_| vpc_ip(rng)).collect(),
                    vec![sdk_agent(rng), sdk_agent(rng)],
                    10.0,
                ),
                (
                    "orders-api-lambda-exec".into(),
                    vec!["orders-api".into()],
                    vec![vpc_ip(rng)],
                    vec![sdk_agent(rng)],
                    6.0,
                ),
                (
                    "etl-loader-lambda-exec".into(),
                    vec!["etl-loader".into()],
                    vec![vpc_ip(rng)],
                    vec![sdk_agent(rng)],
                    4.0,
                ),
                (
                    "ssm-managed-instance".into(),
                    instances[14..20].to_vec(),
                    (0..6).map(|_| vpc_ip(rng)).collect(),
                    vec![sdk_agent(rng)],
                    6.0,
                ),
                (
                    "OrganizationAccountAccessRole".into(),
                    people[..4].to_vec(),
                    (0..3).map(|_| public_ip(rng)).collect(),
                    vec![cli_agent(rng)],
                    1.0,
                ),
                (
                    "monitoring-integration".into(),
                    vec![format!("monitoring-{}", rng.digits(10))],
                    vec![public_ip(rng)],
                    vec![sdk_agent(rng)],
                    4.0,
                ),
            ];
            for (name, sessions, ips, uas, weight) in roles {
                self.accounts[a].role_names.push(name.clone());
                self.push(Actor {
                    id: 0,
                    kind: Kind::Role,
                    class: Class::Auto,
                    account: a,
                    name,
                    unique_id: format!("AROA{}", rng.upper_id(17)),
                    long_term_key: String::new(),
                    path: "/".into(),
                    sessions,
                    broker: None,
                    ips,
                    user_agents: uas,
                    activity: acct_weight * weight * 0.6,
                });
            }
            // Federated contractors through a broker user.
            let broker = (
                "federation-broker".to_string(),
                format!("AIDA{}", rng.upper_id(17)),
            );
            for _ in 0..2 {
                let name = format!("contractor-{}", rng.pick(FIRST));
                self.push(Actor {
                    id: 0,
                    kind: Kind::Federated,
                    class: Class::Human,
                    account: a,
                    name,
                    unique_id: String::new(),
                    long_term_key: String::new(),
                    path: "/".into(),
                    sessions: vec![],
                    broker: Some(broker.clone()),
                    ips: home_ips(rng),
                    user_agents: human_agents(rng),
                    activity: acct_weight * 1.0,
                });
            }
            // Root: rare.
            self.push(Actor {
                id: 0,
                kind: Kind::Root,
                class: Class::Human,
                account: a,
                name: String::new(),
                unique_id: String::new(),
                long_term_key: String::new(),
                path: "/".into(),
                sessions: vec![],
                broker: None,
                ips: home_ips(rng),
                user_agents: vec![browser_agent(rng)],
                activity: acct_weight * 0.05,
            });
            // AWS services.
            for svc in SERVICES {
                self.push(Actor {
                    id: 0,
                    kind: Kind::Service,
                    class: Class::Service,
                    account: a,
                    name: svc.to_string(),
                    unique_id: String::new(),
                    long_term_key: String::new(),
                    path: "/".into(),
                    sessions: vec![],
                    broker: None,
                    ips: vec![svc.to_string()],
                    user_agents: vec![svc.to_string()],
                    activity: acct_weight * 6.0,
                });
            }
        }
    }

    /// A region by traffic share.
    pub fn region(&self, rng: &mut Rng) -> &'static str {
        let weights: Vec<f64> = self.regions.iter().map(|r| r.1).collect();
        self.regions[rng.weighted(&weights)].0
    }

    /// Actors of one kind (for the Lambda scenarios).
    pub fn actors_of(&self, kind: Kind) -> Vec<&Actor> {
        self.actors.iter().filter(|a| a.kind == kind).collect()
    }
}

/// An ordinary role: name, session names, addresses, user agents, relative activity.
type RoleSpec = (String, Vec<String>, Vec<String>, Vec<String>, f64);

/// The per-call context of one principal: which session, from where, with which tool.
#[derive(Debug, Clone)]
pub struct Session {
    /// Session name (role sessions), empty otherwise.
    pub name: String,
    /// Temporary (ASIA) or long-term (AKIA) key; empty for services.
    pub access_key: String,
    /// When the session's credentials were issued.
    pub created: DateTime<Utc>,
    /// Calling address.
    pub ip: String,
    /// Calling tool.
    pub user_agent: String,
    /// Region of the call.
    pub region: &'static str,
    /// Console session (ASIA keys for IAM users, `sessionCredentialFromConsole`).
    pub console: bool,
    /// MFA used for the session.
    pub mfa: bool,
    /// VPC endpoint the call went through, if any.
    pub vpc_endpoint: Option<String>,
}

impl Actor {
    /// The session this principal uses at `time`: stable within an hour, so consecutive calls
    /// share address, tool and credentials.
    pub fn session(&self, world: &World, time: DateTime<Utc>) -> Session {
        let hour = time.timestamp().div_euclid(3600);
        let mut rng = Rng::new(mix(&[world.seed, self.id as u64, hour as u64]));
        let name = if self.sessions.is_empty() {
            String::new()
        } else {
            rng.pick(&self.sessions).clone()
        };
        let user_agent = rng.pick(&self.user_agents).clone();
        let console = self.class == Class::Human
            && (user_agent.starts_with("Mozilla") || user_agent == "AWS Internal");
        let access_key = match self.kind {
            Kind::Service => String::new(),
            Kind::IamUser if !console => self.long_term_key.clone(),
            _ => format!("ASIA{}", rng.upper_id(16)),
        };
        let ip = if user_agent == "AWS Internal" {
            "AWS Internal".to_string()
        } else {
            rng.pick(&self.ips).clone()
        };
        let vpc_endpoint = ip.starts_with("10.").then(|| {
            rng.pick(&world.accounts[self.account].vpc_endpoints)
                .clone()
        });
        let region = if self.class == Class::Human && rng.chance(0.8) {
            "us-east-1"
        } else {
            world.region(&mut rng)
        };
        Session {
            name,
            access_key,
            created: time - Duration::seconds(rng.range(5, 3500) as i64),
            ip,
            user_agent,
            region,
            console,
            mfa: self.class == Class::Human && rng.chance(0.7),
            vpc_endpoint,
        }
    }

    /// The `userIdentity` object of a call by this principal in `session`.
    pub fn identity(&self, world: &World, session: &Session) -> Value {
        let acct = &world.accounts[self.account].id;
        let created = session.created.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let mfa = if session.mfa { "true" } else { "false" };
        match self.kind {
            Kind::IamUser => {
                let mut ui = json!({
                    "type": "IAMUser",
                    "principalId": self.unique_id,
                    "arn": format!("arn:aws:iam::{acct}:user/{}", self.name),
                    "accountId": acct,
                    "accessKeyId": session.access_key,
                    "userName": self.name,
                });
                if session.console {
                    ui["sessionContext"] = json!({
                        "sessionIssuer": {},
                        "webIdFederationData": {},
                        "attributes": {"creationDate": created, "mfaAuthenticated": mfa}
                    });
                }
                ui
            }
            Kind::Sso | Kind::Role => json!({
                "type": "AssumedRole",
                "principalId": format!("{}:{}", self.unique_id, session.name),
                "arn": format!("arn:aws:sts::{acct}:assumed-role/{}/{}", self.name, session.name),
                "accountId": acct,
                "accessKeyId": session.access_key,
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": self.unique_id,
                        "arn": format!("arn:aws:iam::{acct}:role{}{}", self.path, self.name),
                        "accountId": acct,
                        "userName": self.name
                    },
                    "webIdFederationData": {},
                    "attributes": {"creationDate": created, "mfaAuthenticated": "false"}
                }
            }),
            Kind::Federated => {
                let (broker, broker_id) = self.broker.clone().unwrap_or_default();
                json!({
                    "type": "FederatedUser",
                    "principalId": format!("{acct}:{}", self.name),
                    "arn": format!("arn:aws:sts::{acct}:federated-user/{}", self.name),
                    "accountId": acct,
                    "accessKeyId": session.access_key,
                    "sessionContext": {
                        "sessionIssuer": {
                            "type": "IAMUser",
                            "principalId": broker_id,
                            "arn": format!("arn:aws:iam::{acct}:user/{broker}"),
                            "accountId": acct,
                            "userName": broker
                        },
                        "webIdFederationData": {},
                        "attributes": {"creationDate": created, "mfaAuthenticated": "false"}
                    }
                })
            }
            Kind::Root => json!({
                "type": "Root",
                "principalId": acct,
                "arn": format!("arn:aws:iam::{acct}:root"),
                "accountId": acct,
                "accessKeyId": session.access_key,
                "sessionContext": {
                    "sessionIssuer": {},
                    "webIdFederationData": {},
                    "attributes": {"creationDate": created, "mfaAuthenticated": "true"}
                }
            }),
            Kind::Service => json!({"type": "AWSService", "invokedBy": self.name}),
        }
    }
}
