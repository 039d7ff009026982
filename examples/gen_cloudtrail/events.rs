//! Background traffic: the event shapes the generator draws from, and the assembly of one
//! CloudTrail record (fields in the order CloudTrail writes them).
//!
//! The mix is read-heavy (Describe/List/Get, KMS Decrypt, STS, SSM parameters) across ec2, s3,
//! iam, kms, sts, ssm and a few other services, with some writes, S3 data events, service
//! events and rare very large `RunInstances` responses. None of these shapes fires either seed
//! rule: Lambda writes only come from the injected scenarios (see `lambda.rs`).

use chrono::{DateTime, Utc};
use serde_json::{json, Map, Value};

use super::rng::Rng;
use super::world::{Actor, Class, Kind, Session, World};

/// The parts of a record that depend on the call.
#[derive(Debug, Clone)]
pub struct Draft {
    /// `eventSource`.
    pub source: &'static str,
    /// `eventName`.
    pub name: String,
    /// `readOnly`.
    pub read_only: bool,
    /// `requestParameters` (`null` allowed).
    pub request: Value,
    /// `responseElements` (`null` allowed).
    pub response: Value,
    /// `additionalEventData`.
    pub additional: Option<Value>,
    /// `resources`.
    pub resources: Option<Value>,
    /// `serviceEventDetails`.
    pub service_details: Option<Value>,
    /// `eventType`.
    pub event_type: &'static str,
    /// `eventCategory` (`Management` or `Data`).
    pub category: &'static str,
    /// `errorCode` / `errorMessage` (either may be present alone; `Some("")` is written as "").
    pub error_code: Option<String>,
    /// See `error_code`.
    pub error_message: Option<String>,
    /// Override for `requestID` (S3 uses 16 uppercase characters).
    pub request_id: Option<String>,
}

impl Draft {
    /// A successful management API call with no request or response.
    pub fn new(source: &'static str, name: &str, read_only: bool) -> Draft {
        Draft {
            source,
            name: name.to_string(),
            read_only,
            request: Value::Null,
            response: Value::Null,
            additional: None,
            resources: None,
            service_details: None,
            event_type: "AwsApiCall",
            category: "Management",
            error_code: None,
            error_message: None,
            request_id: None,
        }
    }
}

/// One background event shape: where it comes from and how often each class calls it.
#[derive(Debug, Clone, Copy)]
pub struct Template {
    /// `eventSource`.
    pub source: &'static str,
    /// `eventName`.
    pub name: &'static str,
    /// `readOnly`.
    pub read_only: bool,
    /// Relative frequency for [Human, Auto, Service] principals.
    pub weights: [f64; 3],
}

macro_rules! t {
    ($src:literal, $name:literal, $ro:literal, $h:expr, $a:expr, $s:expr) => {
        Template {
            source: $src,
            name: $name,
            read_only: $ro,
            weights: [$h, $a, $s],
        }
    };
}

/// The background mix.
pub const TEMPLATES: &[Template] = &[
    t!(
        "ec2.amazonaws.com",
        "DescribeInstances",
        true,
        30.0,
        40.0,
        5.0
    ),
    t!(
        "ec2.amazonaws.com",
        "DescribeSecurityGroups",
        true,
        10.0,
        25.0,
        0.0
    ),
    t!("ec2.amazonaws.com", "DescribeSubnets", true, 5.0, 20.0, 0.0),
    t!("ec2.amazonaws.com", "DescribeVpcs", true, 5.0, 20.0, 0.0),
    t!(
        "ec2.amazonaws.com",
        "DescribeRouteTables",
        true,
        3.0,
        20.0,
        0.0
    ),
    t!(
        "ec2.amazonaws.com",
        "DescribeNetworkInterfaces",
        true,
        3.0,
        10.0,
        5.0
    ),
    t!("ec2.amazonaws.com", "DescribeVolumes", true, 3.0, 8.0, 0.0),
    t!("ec2.amazonaws.com", "DescribeImages", true, 2.0, 8.0, 0.0),
    t!(
        "ec2.amazonaws.com",
        "DescribeAvailabilityZones",
        true,
        2.0,
        6.0,
        0.0
    ),
    t!(
        "ec2.amazonaws.com",
        "DescribeInstanceStatus",
        true,
        3.0,
        5.0,
        3.0
    ),
    t!("ec2.amazonaws.com", "DescribeTags", true, 2.0, 10.0, 0.0),
    t!("ec2.amazonaws.com", "RunInstances", false, 0.4, 1.0, 0.3),
    t!("ec2.amazonaws.com", "CreateTags", false, 1.0, 3.0, 0.5),
    t!("ec2.amazonaws.com", "StopInstances", false, 0.3, 0.3, 0.0),
    t!(
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        false,
        0.2,
        0.3,
        0.0
    ),
    t!("s3.amazonaws.com", "ListBuckets", true, 5.0, 2.0, 0.0),
    t!("s3.amazonaws.com", "GetBucketAcl", true, 2.0, 4.0, 8.0),
    t!("s3.amazonaws.com", "GetBucketPolicy", true, 2.0, 3.0, 3.0),
    t!("s3.amazonaws.com", "GetBucketLocation", true, 3.0, 8.0, 2.0),
    t!(
        "s3.amazonaws.com",
        "GetBucketVersioning",
        true,
        1.0,
        4.0,
        1.0
    ),
    t!("s3.amazonaws.com", "GetObject", true, 8.0, 40.0, 5.0),
    t!("s3.amazonaws.com", "PutObject", false, 3.0, 15.0, 2.0),
    t!("s3.amazonaws.com", "HeadObject", true, 2.0, 10.0, 0.0),
    t!("s3.amazonaws.com", "ListObjects", true, 3.0, 8.0, 0.0),
    t!("iam.amazonaws.com", "GetUser", true, 4.0, 2.0, 0.0),
    t!("iam.amazonaws.com", "ListUsers", true, 3.0, 1.0, 1.0),
    t!("iam.amazonaws.com", "ListRoles", true, 3.0, 3.0, 1.0),
    t!("iam.amazonaws.com", "GetRole", true, 3.0, 6.0, 2.0),
    t!(
        "iam.amazonaws.com",
        "ListAttachedRolePolicies",
        true,
        2.0,
        5.0,
        1.0
    ),
    t!("iam.amazonaws.com", "ListRolePolicies", true, 1.0, 4.0, 1.0),
    t!("iam.amazonaws.com", "GetPolicyVersion", true, 1.0, 3.0, 1.0),
    t!("iam.amazonaws.com", "CreateUser", false, 0.1, 0.2, 0.0),
    t!(
        "iam.amazonaws.com",
        "AttachRolePolicy",
        false,
        0.1,
        0.3,
        0.0
    ),
    t!(
        "iam.amazonaws.com",
        "CreateAccessKey",
        false,
        0.1,
        0.05,
        0.0
    ),
    t!("kms.amazonaws.com", "Decrypt", true, 10.0, 40.0, 60.0),
    t!(
        "kms.amazonaws.com",
        "GenerateDataKey",
        true,
        3.0,
        15.0,
        20.0
    ),
    t!("kms.amazonaws.com", "Encrypt", true, 1.0, 5.0, 5.0),
    t!("kms.amazonaws.com", "DescribeKey", true, 2.0, 6.0, 5.0),
    t!("kms.amazonaws.com", "ListAliases", true, 2.0, 3.0, 0.0),
    t!("sts.amazonaws.com", "AssumeRole", false, 3.0, 20.0, 25.0),
    t!(
        "sts.amazonaws.com",
        "GetCallerIdentity",
        true,
        8.0,
        15.0,
        0.0
    ),
    t!("ssm.amazonaws.com", "GetParameter", true, 3.0, 25.0, 3.0),
    t!("ssm.amazonaws.com", "GetParameters", true, 2.0, 10.0, 2.0),
    t!(
        "ssm.amazonaws.com",
        "GetParametersByPath",
        true,
        1.0,
        5.0,
        0.0
    ),
    t!(
        "ssm.amazonaws.com",
        "DescribeParameters",
        true,
        2.0,
        6.0,
        0.0
    ),
    t!(
        "ssm.amazonaws.com",
        "UpdateInstanceInformation",
        false,
        0.0,
        15.0,
        0.0
    ),
    t!("ssm.amazonaws.com", "ListAssociations", true, 0.0, 8.0, 0.0),
    t!("ssm.amazonaws.com", "PutParameter", false, 0.3, 1.0, 0.0),
    t!(
        "lambda.amazonaws.com",
        "GetFunction20150331v2",
        true,
        1.0,
        3.0,
        0.0
    ),
    t!(
        "lambda.amazonaws.com",
        "ListFunctions20150331",
        true,
        1.0,
        2.0,
        0.0
    ),
    t!(
        "lambda.amazonaws.com",
        "GetFunctionConfiguration20150331v2",
        true,
        0.5,
        2.0,
        0.0
    ),
    t!(
        "lambda.amazonaws.com",
        "ListLayerVersions20181031",
        true,
        0.3,
        0.5,
        0.0
    ),
    t!(
        "logs.amazonaws.com",
        "CreateLogStream",
        false,
        0.0,
        5.0,
        10.0
    ),
    t!(
        "logs.amazonaws.com",
        "DescribeLogGroups",
        true,
        2.0,
        3.0,
        0.0
    ),
    t!(
        "secretsmanager.amazonaws.com",
        "GetSecretValue",
        true,
        1.0,
        15.0,
        2.0
    ),
    t!(
        "secretsmanager.amazonaws.com",
        "DescribeSecret",
        true,
        1.0,
        4.0,
        0.0
    ),
    t!(
        "monitoring.amazonaws.com",
        "DescribeAlarms",
        true,
        2.0,
        4.0,
        0.0
    ),
    t!(
        "ecr.amazonaws.com",
        "GetAuthorizationToken",
        true,
        0.5,
        10.0,
        5.0
    ),
    t!("signin.amazonaws.com", "ConsoleLogin", false, 0.6, 0.0, 0.0),
    t!(
        "cloudtrail.amazonaws.com",
        "LookupEvents",
        true,
        0.5,
        0.3,
        0.0
    ),
    t!(
        "cloudtrail.amazonaws.com",
        "DescribeTrails",
        true,
        0.5,
        0.5,
        1.0
    ),
    t!("kms.amazonaws.com", "RotateKey", false, 0.0, 0.0, 0.3),
];

/// The error codes a call of this service may fail with (code, message template; `{arn}` is
/// the caller, `{action}` the IAM action).
fn errors_for(source: &str) -> &'static [(&'static str, &'static str)] {
    match source {
        "ec2.amazonaws.com" => &[
            ("Client.UnauthorizedOperation", "You are not authorized to perform this operation. User: {arn} is not authorized to perform: {action} because no identity-based policy allows the {action} action"),
            ("Client.RequestLimitExceeded", "Request limit exceeded."),
            ("Client.InvalidInstanceID.NotFound", "The instance ID does not exist"),
        ],
        "s3.amazonaws.com" => &[("AccessDenied", "Access Denied"), ("NoSuchKey", "The specified key does not exist."), ("NoSuchBucketPolicy", "The bucket policy does not exist")],
        "iam.amazonaws.com" => &[
            ("AccessDenied", "User: {arn} is not authorized to perform: {action} because no identity-based policy allows the {action} action"),
            ("NoSuchEntityException", "The role with name ci-temp cannot be found."),
        ],
        "kms.amazonaws.com" => &[("AccessDenied", "User: {arn} is not authorized to perform: {action} because no resource-based policy allows the {action} action"), ("ThrottlingException", "Rate exceeded")],
        "sts.amazonaws.com" => &[("AccessDenied", "User: {arn} is not authorized to perform: sts:AssumeRole")],
        "ssm.amazonaws.com" => &[("ThrottlingException", "Rate exceeded"), ("ParameterNotFound", "")],
        "secretsmanager.amazonaws.com" => &[("AccessDenied", "User: {arn} is not authorized to perform: {action} because no identity-based policy allows the {action} action")],
        _ => &[("AccessDenied", "User: {arn} is not authorized to perform: {action}"), ("ThrottlingException", "Rate exceeded")],
    }
}

/// The ARN CloudTrail shows for a caller (used in error messages).
pub fn caller_arn(actor: &Actor, world: &World, session: &Session) -> String {
    let acct = &world.accounts[actor.account].id;
    match actor.kind {
        Kind::IamUser => format!("arn:aws:iam::{acct}:user/{}", actor.name),
        Kind::Sso | Kind::Role => format!(
            "arn:aws:sts::{acct}:assumed-role/{}/{}",
            actor.name, session.name
        ),
        Kind::Federated => format!("arn:aws:sts::{acct}:federated-user/{}", actor.name),
        Kind::Root => format!("arn:aws:iam::{acct}:root"),
        Kind::Service => actor.name.clone(),
    }
}

fn iam_action(source: &str, name: &str) -> String {
    let svc = source.split('.').next().unwrap_or(source);
    let svc = if svc == "monitoring" {
        "cloudwatch"
    } else {
        svc
    };
    let name = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == 'v');
    format!("{svc}:{name}")
}

/// Builds the call-specific parts of a background event.
pub fn draft(
    t: &Template,
    rng: &mut Rng,
    world: &World,
    actor: &Actor,
    session: &Session,
) -> Draft {
    let acct = &world.accounts[actor.account];
    let region = session.region;
    let mut d = Draft::new(t.source, t.name, t.read_only);
    let instance = rng.pick(&acct.instances).clone();
    let bucket = rng.pick(&acct.buckets).clone();
    let key = rng.pick(&acct.keys).clone();
    let key_arn = format!("arn:aws:kms:{region}:{}:key/{key}", acct.id);
    match t.name {
        "DescribeInstances" => {
            d.request = if rng.chance(0.5) {
                json!({"instancesSet": {"items": [{"instanceId": instance}]}, "filterSet": {}})
            } else {
                json!({"instancesSet": {}, "filterSet": {"items": [{"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}]}, "maxResults": 1000})
            };
        }
        "DescribeSecurityGroups" => {
            d.request = json!({"securityGroupSet": {}, "securityGroupIdSet": {"items": [{"groupId": rng.pick(&acct.security_groups)}]}, "filterSet": {}})
        }
        "DescribeSubnets" => {
            d.request = json!({"subnetSet": {}, "filterSet": {"items": [{"name": "vpc-id", "valueSet": {"items": [{"value": acct.vpc}]}}]}})
        }
        "DescribeVpcs" => {
            d.request = json!({"vpcSet": {"items": [{"vpcId": acct.vpc}]}, "filterSet": {}})
        }
        "DescribeRouteTables" => {
            d.request = json!({"routeTableIdSet": {}, "filterSet": {"items": [{"name": "vpc-id", "valueSet": {"items": [{"value": acct.vpc}]}}]}})
        }
        "DescribeNetworkInterfaces" => {
            d.request = json!({"networkInterfaceIdSet": {}, "filterSet": {"items": [{"name": "subnet-id", "valueSet": {"items": [{"value": rng.pick(&acct.subnets)}]}}]}})
        }
        "DescribeVolumes" => {
            d.request = json!({"volumeSet": {}, "filterSet": {"items": [{"name": "attachment.instance-id", "valueSet": {"items": [{"value": instance}]}}]}})
        }
        "DescribeImages" => {
            d.request = json!({"executableBySet": {}, "imagesSet": {"items": [{"imageId": format!("ami-0{}", rng.hex(16))}]}, "ownersSet": {}, "includeDeprecated": false, "includeDisabled": false})
        }
        "DescribeAvailabilityZones" => {
            d.request = json!({"availabilityZoneSet": {}, "availabilityZoneIdSet": {}})
        }
        "DescribeInstanceStatus" => {
            d.request = json!({"instancesSet": {"items": [{"instanceId": instance}]}, "filterSet": {}, "includeAllInstances": true})
        }
        "DescribeTags" => {
            d.request = json!({"filterSet": {"items": [{"name": "resource-id", "valueSet": {"items": [{"value": instance}]}}]}})
        }
        "RunInstances" => run_instances(&mut d, rng, world, actor, region, 1),
        "CreateTags" => {
            d.request = json!({"resourcesSet": {"items": [{"resourceId": instance}]}, "tagSet": {"items": [{"key": "owner", "value": rng.pick(&["platform", "data", "web"])}, {"key": "cost-center", "value": format!("cc-{}", rng.range(100, 999))}]}});
            d.response = json!({"requestId": rng.uuid(), "_return": true});
        }
        "StopInstances" => {
            d.request =
                json!({"instancesSet": {"items": [{"instanceId": instance}]}, "force": false});
            d.response = json!({"requestId": rng.uuid(), "instancesSet": {"items": [{"instanceId": instance, "currentState": {"code": 64, "name": "stopping"}, "previousState": {"code": 16, "name": "running"}}]}});
        }
        "AuthorizeSecurityGroupIngress" => {
            let sg = rng.pick(&acct.security_groups).clone();
            d.request = json!({"groupId": sg, "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "groups": {}, "ipRanges": {"items": [{"cidrIp": "198.51.100.0/24"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}});
            d.response = json!({"requestId": rng.uuid(), "_return": true, "securityGroupRuleSet": {"items": [{"groupOwnerId": acct.id, "groupId": sg, "securityGroupRuleId": format!("sgr-0{}", rng.hex(16)), "isEgress": false, "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "198.51.100.0/24"}]}});
        }
        "ListBuckets" => d.request = json!({"Host": "s3.amazonaws.com"}),
        "GetBucketAcl" | "GetBucketPolicy" | "GetBucketLocation" | "GetBucketVersioning" => {
            let param = match t.name {
                "GetBucketAcl" => "acl",
                "GetBucketPolicy" => "policy",
                "GetBucketLocation" => "location",
                _ => "versioning",
            };
            d.request = json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), param: ""});
            d.resources = Some(
                json!([{"accountId": acct.id, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}]),
            );
            d.additional = Some(s3_additional(rng, 0));
            d.request_id = Some(rng.upper_digits(16));
        }
        "GetObject" | "PutObject" | "HeadObject" => {
            let obj = format!(
                "{}/{}/{}.{}",
                rng.pick(&["exports", "incoming", "reports", "assets", "raw"]),
                2020 + rng.below(7),
                rng.hex(12),
                rng.pick(&["json", "parquet", "csv", "png", "gz"])
            );
            d.request = json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "key": obj});
            if t.name == "PutObject" {
                d.response = json!({"x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": key_arn, "x-amz-server-side-encryption-bucket-key-enabled": true});
            }
            let bytes_out = if t.name == "GetObject" {
                rng.range(100, 900_000)
            } else {
                0
            };
            d.additional = Some(s3_additional(rng, bytes_out));
            d.resources = Some(json!([
                {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{obj}")},
                {"accountId": acct.id, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}
            ]));
            d.category = "Data";
            d.request_id = Some(rng.upper_digits(16));
        }
        "ListObjects" => {
            d.request = json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "prefix": "exports/", "list-type": "2", "max-keys": 1000, "encoding-type": "url"});
            d.resources = Some(
                json!([{"accountId": acct.id, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}]),
            );
            d.additional = Some(s3_additional(rng, 0));
            d.category = "Data";
            d.request_id = Some(rng.upper_digits(16));
        }
        "GetUser" => {
            d.request = if rng.chance(0.5) {
                Value::Null
            } else {
                json!({"userName": rng.pick(&acct.user_names)})
            }
        }
        "ListUsers" | "ListRoles" => {
            d.request = if rng.chance(0.5) {
                Value::Null
            } else {
                json!({"maxItems": 100})
            }
        }
        "GetRole" | "ListAttachedRolePolicies" | "ListRolePolicies" => {
            d.request = json!({"roleName": rng.pick(&acct.role_names)})
        }
        "GetPolicyVersion" => {
            d.request = json!({"policyArn": rng.pick(&["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]), "versionId": format!("v{}", rng.range(1, 9))})
        }
        "CreateUser" => {
            let name = format!("tmp-{}", rng.hex(6));
            d.request = json!({"userName": name, "tags": [{"key": "team", "value": "platform"}]});
            d.response = json!({"user": {"path": "/", "userName": name, "userId": format!("AIDA{}", rng.upper_id(17)), "arn": format!("arn:aws:iam::{}:user/{name}", acct.id), "createDate": "Mar 14, 2026, 9:00:00 AM", "tags": [{"key": "team", "value": "platform"}]}});
        }
        "AttachRolePolicy" => {
            d.request = json!({"roleName": rng.pick(&acct.role_names), "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"})
        }
        "CreateAccessKey" => {
            let user = rng.pick(&acct.user_names).clone();
            d.request = json!({"userName": user});
            d.response = json!({"accessKey": {"userName": user, "accessKeyId": format!("AKIA{}", rng.upper_id(16)), "status": "Active", "createDate": "Mar 14, 2026, 9:00:00 AM"}});
        }
        "Decrypt" | "GenerateDataKey" | "Encrypt" => {
            let mut req = json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"});
            if t.name == "GenerateDataKey" {
                req = json!({"keyId": key_arn, "keySpec": "AES_256"});
            } else if t.name == "Encrypt" {
                req["keyId"] = json!(key_arn);
            }
            if rng.chance(0.6) {
                req["encryptionContext"] = if actor.name.contains("secretsmanager") {
                    json!({"SecretARN": format!("arn:aws:secretsmanager:{region}:{}:secret:{}", acct.id, rng.pick(&acct.secrets)), "SecretVersionId": rng.uuid().to_uppercase()})
                } else {
                    json!({"aws:s3:arn": format!("arn:aws:s3:::{bucket}")})
                };
            }
            d.request = req;
            d.resources =
                Some(json!([{"accountId": acct.id, "type": "AWS::KMS::Key", "ARN": key_arn}]));
        }
        "DescribeKey" => {
            d.request = json!({"keyId": key_arn});
            d.resources =
                Some(json!([{"accountId": acct.id, "type": "AWS::KMS::Key", "ARN": key_arn}]));
        }
        "ListAliases" => d.request = json!({"limit": 100}),
        "RotateKey" => {
            d.event_type = "AwsServiceEvent";
            d.read_only = false;
            d.additional = Some(json!({"keyId": key_arn}));
            d.resources =
                Some(json!([{"accountId": acct.id, "type": "AWS::KMS::Key", "ARN": key_arn}]));
        }
        "AssumeRole" => {
            let targets: Vec<&String> = acct
                .role_names
                .iter()
                .filter(|r| !r.starts_with("AWSReservedSSO_"))
                .collect();
            let role = (*rng.pick(&targets)).clone();
            let session = match actor.kind {
                Kind::Service => format!(
                    "{}-{}",
                    actor.name.split('.').next().unwrap_or("svc"),
                    rng.digits(10)
                ),
                _ => format!("botocore-session-{}", rng.digits(10)),
            };
            let role_arn = format!("arn:aws:iam::{}:role/{role}", acct.id);
            d.request =
                json!({"roleArn": role_arn, "roleSessionName": session, "durationSeconds": 3600});
            let expires = "Mar 14, 2026, 10:00:00 AM";
            d.response = json!({
                "credentials": {"accessKeyId": format!("ASIA{}", rng.upper_id(16)), "sessionToken": format!("IQoJb3JpZ2luX2VjE{}", rng.alnum(40)), "expiration": expires},
                "assumedRoleUser": {"assumedRoleId": format!("AROA{}:{session}", rng.upper_id(17)), "arn": format!("arn:aws:sts::{}:assumed-role/{role}/{session}", acct.id)}
            });
            d.resources =
                Some(json!([{"accountId": acct.id, "type": "AWS::IAM::Role", "ARN": role_arn}]));
        }
        "GetCallerIdentity" => {}
        "GetParameter" | "GetParameters" => {
            let p = rng.pick(&acct.parameters).clone();
            d.request = if t.name == "GetParameter" {
                json!({"name": p, "withDecryption": rng.chance(0.5)})
            } else {
                json!({"names": [p], "withDecryption": true})
            };
            d.resources = Some(
                json!([{"accountId": acct.id, "ARN": format!("arn:aws:ssm:{region}:{}:parameter{p}", acct.id)}]),
            );
        }
        "GetParametersByPath" => {
            d.request = json!({"path": format!("/{}/", acct.alias), "recursive": true, "withDecryption": true})
        }
        "DescribeParameters" => d.request = json!({"maxResults": 50}),
        "UpdateInstanceInformation" => {
            let target = if session.name.starts_with("i-") {
                session.name.clone()
            } else {
                instance.clone()
            };
            d.request = json!({"instanceId": target, "agentVersion": "3.3.131.0", "agentStatus": "Active", "platformType": "Linux", "platformName": "Amazon Linux", "platformVersion": "2023", "iPAddress": session.ip, "computerName": format!("ip-{}.ec2.internal", session.ip.replace('.', "-")), "agentName": "amazon-ssm-agent", "availabilityZone": format!("{region}a"), "availabilityZoneId": "use1-az4", "sSMConnectionChannel": "ssmmessages"});
        }
        "ListAssociations" => {
            let target = if session.name.starts_with("i-") {
                session.name.clone()
            } else {
                instance.clone()
            };
            d.request = json!({"associationFilterList": [{"key": "InstanceId", "value": target}], "maxResults": 50});
        }
        "PutParameter" => {
            let p = rng.pick(&acct.parameters).clone();
            d.request = json!({"name": p, "type": "SecureString", "overwrite": true, "keyId": "alias/aws/ssm"});
            d.response = json!({"version": rng.range(2, 40), "tier": "Standard"});
        }
        "GetFunction20150331v2" | "GetFunctionConfiguration20150331v2" => {
            d.request = json!({"functionName": rng.pick(&acct.functions)})
        }
        "ListFunctions20150331" => {}
        "ListLayerVersions20181031" => d.request = json!({"layerName": rng.pick(&acct.layers)}),
        "CreateLogStream" => {
            d.request = json!({"logGroupName": format!("/aws/lambda/{}", rng.pick(&acct.functions)), "logStreamName": format!("2026/03/14/[$LATEST]{}", rng.hex(32))})
        }
        "DescribeLogGroups" => {
            d.request = json!({"logGroupNamePrefix": "/aws/lambda/", "limit": 50})
        }
        "GetSecretValue" | "DescribeSecret" => {
            d.request = json!({"secretId": rng.pick(&acct.secrets)})
        }
        "DescribeAlarms" => d.request = json!({"maxRecords": 100, "stateValue": "ALARM"}),
        "GetAuthorizationToken" => d.request = json!({"registryIds": [acct.id]}),
        "ConsoleLogin" => {
            d.event_type = "AwsConsoleSignIn";
            d.response = json!({"ConsoleLogin": "Success"});
            d.additional = Some(
                json!({"LoginTo": format!("https://console.aws.amazon.com/console/home?region={region}&state=hashArgs%23&isauthcode=true"), "MobileVersion": "No", "MFAUsed": if session.mfa { "Yes" } else { "No" }}),
            );
        }
        "LookupEvents" => {
            d.request = json!({"maxResults": 50, "lookupAttributes": [{"attributeKey": "EventName", "attributeValue": "ConsoleLogin"}]})
        }
        "DescribeTrails" => d.request = json!({"includeShadowTrails": false}),
        _ => {}
    }
    d
}

fn s3_additional(rng: &mut Rng, bytes_out: u64) -> Value {
    json!({
        "SignatureVersion": "SigV4",
        "CipherSuite": "TLS_AES_128_GCM_SHA256",
        "bytesTransferredIn": 0,
        "AuthenticationMethod": "AuthHeader",
        "x-amz-id-2": format!("{}=", rng.alnum(75)),
        "bytesTransferredOut": bytes_out
    })
}

/// `RunInstances` of `count` instances: about 5 KB for one, hundreds of KB for hundreds.
pub fn run_instances(
    d: &mut Draft,
    rng: &mut Rng,
    world: &World,
    actor: &Actor,
    region: &str,
    count: usize,
) {
    let acct = &world.accounts[actor.account];
    let subnet = rng.pick(&acct.subnets).clone();
    let sg = rng.pick(&acct.security_groups).clone();
    let image = format!("ami-0{}", rng.hex(16));
    let itype = rng
        .pick(&["t3.medium", "m6i.large", "c6g.xlarge", "r6i.2xlarge"])
        .to_string();
    d.request = json!({
        "instancesSet": {"items": [{"imageId": image, "minCount": count, "maxCount": count}]},
        "instanceType": itype,
        "blockDeviceMapping": {},
        "monitoring": {"enabled": false},
        "disableApiTermination": false,
        "disableApiStop": false,
        "clientToken": rng.uuid(),
        "networkInterfaceSet": {"items": [{"deviceIndex": 0, "subnetId": subnet, "groupSet": {"items": [{"groupId": sg}]}}]},
        "iamInstanceProfile": {"arn": format!("arn:aws:iam::{}:instance-profile/{}-app-orders", acct.id, acct.alias)},
        "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "Name", "value": "orders-worker"}, {"key": "team", "value": "platform"}]}]}
    });
    let items: Vec<Value> = (0..count)
        .map(|i| {
            let ip = format!("10.{}.{}.{}", rng.range(0, 3), rng.range(0, 255), rng.range(4, 250));
            let eni = format!("eni-0{}", rng.hex(16));
            json!({
                "instanceId": format!("i-0{}", rng.hex(16)),
                "imageId": image,
                "currentInstanceBootMode": "uefi",
                "instanceState": {"code": 0, "name": "pending"},
                "privateDnsName": format!("ip-{}.ec2.internal", ip.replace('.', "-")),
                "amiLaunchIndex": i,
                "productCodes": {},
                "instanceType": itype,
                "launchTime": 1773478800000u64,
                "placement": {"availabilityZone": format!("{region}a"), "tenancy": "default"},
                "monitoring": {"state": "disabled"},
                "subnetId": subnet,
                "vpcId": acct.vpc,
                "privateIpAddress": ip,
                "stateReason": {"code": "pending", "message": "pending"},
                "architecture": "x86_64",
                "rootDeviceType": "ebs",
                "rootDeviceName": "/dev/xvda",
                "blockDeviceMapping": {},
                "virtualizationType": "hvm",
                "clientToken": rng.uuid(),
                "tagSet": {"items": [{"key": "Name", "value": "orders-worker"}, {"key": "team", "value": "platform"}]},
                "groupSet": {"items": [{"groupId": sg, "groupName": "orders-worker"}]},
                "sourceDestCheck": true,
                "hypervisor": "xen",
                "networkInterfaceSet": {"items": [{
                    "networkInterfaceId": eni, "subnetId": subnet, "vpcId": acct.vpc, "ownerId": acct.id,
                    "status": "in-use", "macAddress": format!("0e:{}:{}:{}:{}:{}", rng.hex(2), rng.hex(2), rng.hex(2), rng.hex(2), rng.hex(2)),
                    "privateIpAddress": ip, "sourceDestCheck": true, "interfaceType": "interface",
                    "groupSet": {"items": [{"groupId": sg, "groupName": "orders-worker"}]},
                    "attachment": {"attachmentId": format!("eni-attach-0{}", rng.hex(16)), "deviceIndex": 0, "networkCardIndex": 0, "status": "attaching", "attachTime": 1773478800000u64, "deleteOnTermination": true},
                    "privateIpAddressesSet": {"item": [{"privateIpAddress": ip, "primary": true}]},
                    "ipv6AddressesSet": {}, "tagSet": {}
                }]},
                "iamInstanceProfile": {"arn": format!("arn:aws:iam::{}:instance-profile/{}-app-orders", acct.id, acct.alias), "id": format!("AIPA{}", rng.upper_id(17))},
                "ebsOptimized": false,
                "enaSupport": true,
                "cpuOptions": {"coreCount": 1, "threadsPerCore": 2},
                "capacityReservationSpecification": {"capacityReservationPreference": "open"},
                "enclaveOptions": {"enabled": false},
                "metadataOptions": {"state": "pending", "httpTokens": "required", "httpPutResponseHopLimit": 2, "httpEndpoint": "enabled", "httpProtocolIpv4": "enabled", "httpProtocolIpv6": "disabled", "instanceMetadataTags": "disabled"},
                "maintenanceOptions": {"autoRecovery": "default"},
                "privateDnsNameOptions": {"hostnameType": "ip-name", "enableResourceNameDnsARecord": false, "enableResourceNameDnsAAAARecord": false}
            })
        })
        .collect();
    d.response = json!({
        "requestId": rng.uuid(),
        "reservationId": format!("r-0{}", rng.hex(16)),
        "ownerId": acct.id,
        "groupSet": {},
        "instancesSet": {"items": items}
    });
}

/// Adds an error to a draft (the response is dropped, as CloudTrail does).
pub fn fail(d: &mut Draft, rng: &mut Rng, arn: &str) {
    let (code, msg) = *rng.pick(errors_for(d.source));
    let action = iam_action(d.source, &d.name);
    d.error_code = Some(code.to_string());
    if !msg.is_empty() {
        d.error_message = Some(msg.replace("{arn}", arn).replace("{action}", &action));
    }
    d.response = Value::Null;
}

/// The class-specific template weights, in [`TEMPLATES`] order.
pub fn class_weights(class: Class) -> Vec<f64> {
    let i = match class {
        Class::Human => 0,
        Class::Auto => 1,
        Class::Service => 2,
    };
    TEMPLATES.iter().map(|t| t.weights[i]).collect()
}

/// Assembles a complete record, fields in CloudTrail's order.
#[allow(clippy::too_many_arguments)]
pub fn assemble(
    d: Draft,
    rng: &mut Rng,
    world: &World,
    actor: &Actor,
    session: &Session,
    time: DateTime<Utc>,
    event_id: String,
) -> Value {
    let acct = &world.accounts[actor.account];
    let mut r = Map::new();
    let version = if d.category == "Data" {
        "1.10"
    } else {
        *rng.pick(&["1.08", "1.09", "1.09", "1.10", "1.11"])
    };
    r.insert("eventVersion".into(), json!(version));
    let identity = actor.identity(world, session);
    r.insert("userIdentity".into(), identity);
    r.insert(
        "eventTime".into(),
        json!(time.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    );
    r.insert("eventSource".into(), json!(d.source));
    r.insert("eventName".into(), json!(d.name));
    r.insert("awsRegion".into(), json!(session.region));
    let (ip, ua) = if actor.kind == Kind::Service {
        (actor.name.clone(), actor.name.clone())
    } else {
        (session.ip.clone(), session.user_agent.clone())
    };
    r.insert("sourceIPAddress".into(), json!(ip));
    r.insert("userAgent".into(), json!(ua));
    if let Some(code) = &d.error_code {
        r.insert("errorCode".into(), json!(code));
    }
    if let Some(msg) = &d.error_message {
        r.insert("errorMessage".into(), json!(msg));
    }
    r.insert("requestParameters".into(), d.request);
    r.insert("responseElements".into(), d.response);
    if let Some(a) = d.additional {
        r.insert("additionalEventData".into(), a);
    }
    let request_id = d.request_id.unwrap_or_else(|| rng.uuid());
    if d.event_type != "AwsServiceEvent" {
        r.insert("requestID".into(), json!(request_id));
    }
    r.insert("eventID".into(), json!(event_id));
    r.insert("readOnly".into(), json!(d.read_only));
    if let Some(res) = d.resources {
        r.insert("resources".into(), res);
    }
    r.insert("eventType".into(), json!(d.event_type));
    r.insert("managementEvent".into(), json!(d.category == "Management"));
    r.insert("recipientAccountId".into(), json!(acct.id));
    if actor.kind == Kind::Service && d.event_type == "AwsApiCall" && rng.chance(0.3) {
        r.insert("sharedEventID".into(), json!(rng.uuid()));
    }
    if let Some(vpce) = &session.vpc_endpoint {
        if actor.kind != Kind::Service {
            r.insert("vpcEndpointId".into(), json!(vpce));
            r.insert("vpcEndpointAccountId".into(), json!(acct.id));
        }
    }
    if let Some(s) = d.service_details {
        r.insert("serviceEventDetails".into(), s);
    }
    r.insert("eventCategory".into(), json!(d.category));
    if actor.kind != Kind::Service && ip != "AWS Internal" && d.event_type == "AwsApiCall" {
        let host = match d.source {
            "s3.amazonaws.com" => format!("s3.{}.amazonaws.com", session.region),
            "iam.amazonaws.com" => "iam.amazonaws.com".to_string(),
            src => format!(
                "{}.{}.amazonaws.com",
                src.split('.').next().unwrap_or(src),
                session.region
            ),
        };
        let (tls, cipher) = if rng.chance(0.8) {
            ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
        } else {
            ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
        };
        r.insert(
            "tlsDetails".into(),
            json!({"tlsVersion": tls, "cipherSuite": cipher, "clientProvidedHostHeader": host}),
        );
    }
    if session.console && actor.kind != Kind::Service && d.event_type == "AwsApiCall" {
        r.insert("sessionCredentialFromConsole".into(), json!("true"));
    }
    if d.event_type == "AwsServiceEvent" {
        // Service events carry an identity without a type.
        r.insert(
            "userIdentity".into(),
            json!({"accountId": acct.id, "invokedBy": d.source}),
        );
    }
    Value::Object(r)
}
