//! Synthetic detection rules for benchmarks, in the shapes of the rules eshunt imports:
//! Elastic KQL rules (`event.provider`/`event.action`, some with `*Word*` wildcards), Sigma
//! rules (case-insensitive `term` prefilters and `ieq`/`iin`/`icontains` conditions) and
//! Panther ports (`eventName in [...]` conditions). Names and sources are real CloudTrail
//! vocabulary: mostly the calls detections look for, some calls the generator's background
//! traffic makes (so some rules are candidates often, as real discovery rules are).
//!
//! The output depends only on the count and the seed.

/// `(eventSource, eventName)` pairs detections commonly look for.
const WATCHED: &[(&str, &str)] = &[
    ("iam", "CreateAccessKey"),
    ("iam", "CreateUser"),
    ("iam", "AttachUserPolicy"),
    ("iam", "PutUserPolicy"),
    ("iam", "CreateLoginProfile"),
    ("iam", "UpdateLoginProfile"),
    ("iam", "DeactivateMFADevice"),
    ("iam", "DeleteVirtualMFADevice"),
    ("iam", "UpdateAssumeRolePolicy"),
    ("iam", "AddUserToGroup"),
    ("iam", "CreatePolicyVersion"),
    ("iam", "SetDefaultPolicyVersion"),
    ("iam", "AttachRolePolicy"),
    ("iam", "PutRolePolicy"),
    ("iam", "CreateRole"),
    ("iam", "DeleteRolePolicy"),
    ("iam", "GetAccountAuthorizationDetails"),
    ("iam", "ListAccessKeys"),
    ("s3", "PutBucketPolicy"),
    ("s3", "DeleteBucketPolicy"),
    ("s3", "PutBucketAcl"),
    ("s3", "PutBucketPublicAccessBlock"),
    ("s3", "DeleteBucketPublicAccessBlock"),
    ("s3", "PutBucketLogging"),
    ("s3", "PutBucketVersioning"),
    ("s3", "PutBucketReplication"),
    ("s3", "PutBucketLifecycle"),
    ("s3", "DeleteBucket"),
    ("s3", "PutBucketEncryption"),
    ("s3", "DeleteBucketEncryption"),
    ("cloudtrail", "StopLogging"),
    ("cloudtrail", "DeleteTrail"),
    ("cloudtrail", "UpdateTrail"),
    ("cloudtrail", "PutEventSelectors"),
    ("ec2", "ModifySnapshotAttribute"),
    ("ec2", "ModifyImageAttribute"),
    ("ec2", "AuthorizeSecurityGroupIngress"),
    ("ec2", "CreateKeyPair"),
    ("ec2", "ImportKeyPair"),
    ("ec2", "DeleteFlowLogs"),
    ("ec2", "CreateVpcPeeringConnection"),
    ("ec2", "ModifyInstanceAttribute"),
    ("ec2", "GetPasswordData"),
    ("ec2", "DisableEbsEncryptionByDefault"),
    ("ec2", "TerminateInstances"),
    ("ec2", "CreateNetworkAclEntry"),
    ("ec2", "DeleteNetworkAcl"),
    ("ec2", "SharedSnapshotCopyInitiated"),
    ("kms", "DisableKey"),
    ("kms", "ScheduleKeyDeletion"),
    ("kms", "PutKeyPolicy"),
    ("kms", "CreateGrant"),
    ("guardduty", "DeleteDetector"),
    ("guardduty", "UpdateDetector"),
    ("guardduty", "DisassociateFromMasterAccount"),
    ("guardduty", "CreateIPSet"),
    ("config", "StopConfigurationRecorder"),
    ("config", "DeleteConfigurationRecorder"),
    ("config", "DeleteDeliveryChannel"),
    ("logs", "DeleteLogGroup"),
    ("logs", "DeleteLogStream"),
    ("rds", "ModifyDBInstance"),
    ("rds", "RestoreDBInstanceFromDBSnapshot"),
    ("rds", "ModifyDBSnapshotAttribute"),
    ("rds", "DeleteDBCluster"),
    ("rds", "StopDBInstance"),
    ("lambda", "CreateFunction20150331"),
    ("lambda", "UpdateFunctionCode20150331v2"),
    ("lambda", "AddPermission20150331v2"),
    ("sts", "GetSessionToken"),
    ("sts", "GetFederationToken"),
    ("sts", "AssumeRoleWithSAML"),
    ("sts", "AssumeRoleWithWebIdentity"),
    ("signin", "PasswordRecoveryRequested"),
    ("signin", "SwitchRole"),
    ("organizations", "LeaveOrganization"),
    ("organizations", "InviteAccountToOrganization"),
    ("organizations", "CreateAccount"),
    ("secretsmanager", "GetSecretValue"),
    ("secretsmanager", "DeleteSecret"),
    ("secretsmanager", "PutResourcePolicy"),
    ("ssm", "SendCommand"),
    ("ssm", "StartSession"),
    ("ssm", "ResumeSession"),
    ("route53", "ChangeResourceRecordSets"),
    ("route53", "AssociateVPCWithHostedZone"),
    ("route53domains", "DisableDomainTransferLock"),
    ("route53domains", "TransferDomainToAnotherAwsAccount"),
    ("sso", "CreatePermissionSet"),
    ("sso", "AttachManagedPolicyToPermissionSet"),
    ("ecr", "GetAuthorizationToken"),
    ("ecr", "SetRepositoryPolicy"),
    ("eks", "CreateCluster"),
    ("eks", "UpdateClusterConfig"),
    ("efs", "DeleteFileSystem"),
    ("efs", "DeleteMountTarget"),
    ("ses", "GetSendQuota"),
    ("ses", "VerifyEmailIdentity"),
    ("ses", "UpdateAccountSendingEnabled"),
    ("bedrock", "InvokeModel"),
    ("bedrock", "GetFoundationModelAvailability"),
    ("backup", "DeleteBackupVault"),
    ("backup", "DeleteRecoveryPoint"),
    ("monitoring", "DeleteAlarms"),
    ("monitoring", "DisableAlarmActions"),
    ("securityhub", "DisableSecurityHub"),
    ("securityhub", "BatchUpdateFindings"),
    ("macie2", "DisableMacie"),
    ("waf", "DeleteWebACL"),
];

/// `(eventSource, eventName)` pairs the generator's background traffic makes.
const ROUTINE: &[(&str, &str)] = &[
    ("iam", "ListUsers"),
    ("iam", "GetUser"),
    ("iam", "ListRoles"),
    ("s3", "ListBuckets"),
    ("s3", "GetBucketAcl"),
    ("s3", "GetBucketPolicy"),
    ("ec2", "DescribeInstances"),
    ("ec2", "RunInstances"),
    ("ssm", "GetParameters"),
    ("sts", "GetCallerIdentity"),
    ("kms", "Decrypt"),
    ("signin", "ConsoleLogin"),
];

/// Words of user agents and actions that Elastic rules match with `*Word*` wildcards.
const WILDCARD_WORDS: &[&str] = &[
    "Bucket",
    "Policy",
    "Snapshot",
    "Trail",
    "Detector",
    "KeyPair",
    "Secret",
    "Logging",
    "kali",
    "parrot",
    "pacu",
    "ScoutSuite",
    "Stratus",
    "Peirates",
    "Cloudsploit",
    "Prowler",
];

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One synthetic rule: its file name and TOML text.
pub struct SyntheticRule {
    /// `synthetic_NNN.toml`.
    pub file_name: String,
    /// The rule file.
    pub toml: String,
}

/// `count` rules drawn from `seed`.
pub fn rules(count: usize, seed: u64) -> Vec<SyntheticRule> {
    let mut rng = Rng(seed);
    (0..count).map(|i| rule(i, &mut rng)).collect()
}

/// 1 to 3 calls of one service: mostly watched ones, one in eight routine (and then whether
/// they are).
fn calls(rng: &mut Rng) -> (&'static str, Vec<&'static str>, bool) {
    let routine = rng.below(8) == 0;
    let table = if routine { ROUTINE } else { WATCHED };
    let (source, first) = *rng.pick(table);
    let mut names = vec![first];
    for _ in 0..rng.below(3) {
        let (s, n) = *rng.pick(table);
        if s == source && !names.contains(&n) {
            names.push(n);
        }
    }
    (source, names, routine)
}

fn rule(i: usize, rng: &mut Rng) -> SyntheticRule {
    let (source, names, routine) = calls(rng);
    // Rules on routine calls look for an unusual caller, as real ones do: the root user.
    let (root_kql, root_condition) = match routine {
        true => (
            " and aws.cloudtrail.user_identity.type: Root",
            "\nuserIdentity.type eq \"Root\"",
        ),
        false => ("", ""),
    };
    let provider = format!("{source}.amazonaws.com");
    let (kql, dsl, condition) = match rng.below(10) {
        // Elastic: KQL on provider and actions.
        0..=3 => (
            format!(
                "event.dataset: aws.cloudtrail and event.provider: {provider} and event.action: ({}) and event.outcome: success{root_kql}",
                names.join(" or ")
            ),
            None,
            None,
        ),
        // Elastic with a wildcard, on the action or the user agent.
        4 => {
            let word = rng.pick(WILDCARD_WORDS);
            (format!("event.provider: {provider} and (event.action: *{word}* or user_agent.original: *{word}*){root_kql}"), None, None)
        }
        // Sigma: case-insensitive term queries and conditions.
        5..=7 => {
            let terms: Vec<String> = names
                .iter()
                .map(|n| format!(r#"{{"term": {{"event.action": {{"value": "{n}", "case_insensitive": true}}}}}}"#))
                .collect();
            let dsl = format!(
                r#"{{"bool": {{"filter": [{{"term": {{"event.provider": {{"value": "{provider}", "case_insensitive": true}}}}}}, {{"bool": {{"should": [{}]}}}}]}}}}"#,
                terms.join(", ")
            );
            let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            let condition = format!(
                "eventSource ieq \"{provider}\"\neventName iin [{}]{root_condition}",
                quoted.join(", ")
            );
            (String::new(), Some(dsl), Some(condition))
        }
        // Panther: a provider prefilter, the actions in the condition.
        _ => {
            let quoted: Vec<String> = names.iter().map(|n| format!("\"{n}\"")).collect();
            (
                format!("event.provider: {provider}"),
                None,
                Some(format!("eventName in [{}]\nerrorCode is_null{root_condition}", quoted.join(", "))),
            )
        }
    };
    let prefilter = match dsl {
        Some(dsl) => format!("dsl = '''{dsl}'''"),
        None => format!("kql = '''{kql}'''"),
    };
    let condition = condition.map_or(String::new(), |c| format!("condition = '''\n{c}\n'''\n"));
    SyntheticRule {
        file_name: format!("synthetic_{i:03}.toml"),
        toml: format!(
            r#"id = "synthetic.{i:03}"
name = "Synthetic rule {i}"
version = 1
severity = "low"
risk_score = 21
description = "A synthetic rule for benchmarks: {source} {names}."

[source]
index = ["logs-aws.cloudtrail-*"]

[schedule]
interval = "5m"
lookback = "6m"

[detection]
{prefilter}
{condition}
[alert]
title = "Synthetic rule {i}"
"#,
            names = names.join(", ")
        ),
    }
}
