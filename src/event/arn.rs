//! Amazon Resource Names: the parts of an ARN-valued field, as rules read them
//! (`arn_account(userIdentity.arn)`).
//!
//! An ARN is `arn:partition:service:region:account:resource`; region and account are empty for
//! global resources (`arn:aws:iam::123456789012:role/admin`, `arn:aws:s3:::bucket/key`). The
//! resource is `type/id`, `type:id` or, for a few services, an untyped name. A value that is not
//! a well-formed ARN has no parts, and an empty part (the region of an IAM ARN) is absent.

/// A readable part of an ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArnPart {
    /// `aws`, `aws-cn`, `aws-us-gov`, …
    Partition,
    /// `iam`, `sts`, `s3`, `lambda`, …
    Service,
    /// `us-east-1`; absent for global resources.
    Region,
    /// The 12-digit account (or `aws` for AWS-managed policies); absent for S3 buckets.
    Account,
    /// Everything after the account: `role/admin`, `function:name:alias`, `bucket/key`.
    Resource,
    /// The resource's type: `role`, `assumed-role`, `function`; absent when it has none.
    ResourceType,
    /// The resource's name: see [`resource_name`].
    ResourceName,
}

impl ArnPart {
    /// Every part with the function that reads it in a rule.
    pub const ALL: [(&'static str, ArnPart); 7] = [
        ("arn_partition", ArnPart::Partition),
        ("arn_service", ArnPart::Service),
        ("arn_region", ArnPart::Region),
        ("arn_account", ArnPart::Account),
        ("arn_resource", ArnPart::Resource),
        ("arn_resource_type", ArnPart::ResourceType),
        ("arn_resource_name", ArnPart::ResourceName),
    ];

    /// The part read by a function name (`arn_account`), case-insensitively.
    pub fn from_function(name: &str) -> Option<ArnPart> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, part)| *part)
    }

    /// The function that reads this part (`arn_account`).
    pub fn function(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, part)| *part == self)
            .map_or("arn_?", |(n, _)| n)
    }

    /// This part of `text`; `None` when `text` is not an ARN or the part is empty.
    pub fn of(self, text: &str) -> Option<&str> {
        let arn = Arn::parse(text)?;
        let part = match self {
            ArnPart::Partition => Some(arn.partition),
            ArnPart::Service => Some(arn.service),
            ArnPart::Region => Some(arn.region),
            ArnPart::Account => Some(arn.account),
            ArnPart::Resource => Some(arn.resource),
            ArnPart::ResourceType => resource_type(&arn),
            ArnPart::ResourceName => resource_name(&arn),
        };
        part.filter(|p| !p.is_empty())
    }
}

/// An ARN split into its six fields, borrowed from the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Arn<'a> {
    partition: &'a str,
    service: &'a str,
    region: &'a str,
    account: &'a str,
    resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits `arn:partition:service:region:account:resource`. Partition, service and resource
    /// must be non-empty, and the four middle fields may hold only letters, digits and `-`.
    fn parse(text: &'a str) -> Option<Arn<'a>> {
        let mut fields = text.splitn(6, ':');
        if fields.next()? != "arn" {
            return None;
        }
        let mut next = || fields.next();
        let arn = Arn {
            partition: next()?,
            service: next()?,
            region: next()?,
            account: next()?,
            resource: next()?,
        };
        let word = |s: &str| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        let valid = !arn.partition.is_empty()
            && !arn.service.is_empty()
            && !arn.resource.is_empty()
            && [arn.partition, arn.service, arn.region, arn.account]
                .into_iter()
                .all(word);
        valid.then_some(arn)
    }

    /// S3 buckets and objects (`arn:aws:s3:::bucket/key`), SNS topics and SQS queues are named
    /// without a resource type.
    fn untyped(&self) -> bool {
        (self.service == "s3" && self.account.is_empty())
            || self.service == "sns"
            || self.service == "sqs"
    }

    /// The resource type, the separator after it, and the rest of the resource.
    fn typed(&self) -> Option<(&'a str, char, &'a str)> {
        if self.untyped() {
            return None;
        }
        let at = self.resource.find(['/', ':'])?;
        let separator = if self.resource.as_bytes()[at] == b'/' {
            '/'
        } else {
            ':'
        };
        Some((&self.resource[..at], separator, &self.resource[at + 1..]))
    }
}

/// The text before the resource's first `/` or `:`, unless the resource is untyped.
fn resource_type<'a>(arn: &Arn<'a>) -> Option<&'a str> {
    arn.typed().map(|(kind, _, _)| kind)
}

/// IAM resource types whose names may follow a path (`role/service-role/name`).
const IAM_PATH_TYPES: [&str; 6] = [
    "user",
    "role",
    "group",
    "policy",
    "instance-profile",
    "server-certificate",
];

/// The resource's name:
/// - after a `type:`, up to the next `:` (`function:name:alias` → `name`);
/// - after a `type/`, the rest (`repository/team/app` → `team/app`), except that IAM users,
///   roles, groups, policies, instance profiles and server certificates drop their path
///   (`role/service-role/R` → `R`) and an STS assumed role gives the role
///   (`assumed-role/R/session` → `R`);
/// - untyped: the S3 bucket (`bucket/key` → `bucket`), the SNS topic or SQS queue (up to a
///   `:`), or the whole resource (`root`).
fn resource_name<'a>(arn: &Arn<'a>) -> Option<&'a str> {
    let first = |s: &'a str, separator: char| s.split(separator).next();
    match arn.typed() {
        Some((_, ':', rest)) => first(rest, ':'),
        Some((kind, _, rest)) if arn.service == "iam" && IAM_PATH_TYPES.contains(&kind) => {
            rest.rsplit('/').next()
        }
        Some(("assumed-role", _, rest)) if arn.service == "sts" => first(rest, '/'),
        Some((_, _, rest)) => Some(rest),
        None if arn.service == "s3" => first(arn.resource, '/'),
        None => first(arn.resource, ':'),
    }
}

#[cfg(test)]
mod tests {
    use super::ArnPart::{self, *};

    fn part(part: ArnPart, text: &str) -> Option<&str> {
        part.of(text)
    }

    #[test]
    fn splits_the_six_fields() {
        let arn = "arn:aws:iam::123456789012:role/admin";
        assert_eq!(part(Partition, arn), Some("aws"));
        assert_eq!(part(Service, arn), Some("iam"));
        assert_eq!(part(Region, arn), None, "an empty region is absent");
        assert_eq!(part(Account, arn), Some("123456789012"));
        assert_eq!(part(Resource, arn), Some("role/admin"));
        assert_eq!(part(ResourceType, arn), Some("role"));
        assert_eq!(part(ResourceName, arn), Some("admin"));
    }

    #[test]
    fn assumed_role_names_the_role_not_the_session() {
        let arn = "arn:aws:sts::123:assumed-role/Deploy/alice@example.com";
        assert_eq!(part(Account, arn), Some("123"));
        assert_eq!(part(ResourceType, arn), Some("assumed-role"));
        assert_eq!(part(ResourceName, arn), Some("Deploy"));
        assert_eq!(
            part(Resource, arn),
            Some("assumed-role/Deploy/alice@example.com")
        );
        let federated = "arn:aws:sts::123:federated-user/bob";
        assert_eq!(part(ResourceName, federated), Some("bob"));
    }

    #[test]
    fn s3_buckets_and_objects_are_untyped() {
        let object = "arn:aws:s3:::my-bucket/path/to/key.txt";
        assert_eq!(part(Account, object), None);
        assert_eq!(part(Region, object), None);
        assert_eq!(part(ResourceType, object), None);
        assert_eq!(part(ResourceName, object), Some("my-bucket"));
        assert_eq!(
            part(ResourceName, "arn:aws:s3:::my-bucket"),
            Some("my-bucket")
        );
        // Access points are regional and typed.
        let ap = "arn:aws:s3:us-east-1:123:accesspoint/reports";
        assert_eq!(part(ResourceType, ap), Some("accesspoint"));
        assert_eq!(part(ResourceName, ap), Some("reports"));
    }

    #[test]
    fn colon_separated_resources() {
        let function = "arn:aws:lambda:us-east-1:123:function:name";
        assert_eq!(part(Region, function), Some("us-east-1"));
        assert_eq!(part(ResourceType, function), Some("function"));
        assert_eq!(part(ResourceName, function), Some("name"));
        let alias = "arn:aws:lambda:us-east-1:123:function:name:prod";
        assert_eq!(part(ResourceName, alias), Some("name"));
        let layer = "arn:aws:lambda:us-west-2:123:layer:shim:3";
        assert_eq!(part(ResourceName, layer), Some("shim"));
        let group = "arn:aws:logs:us-east-1:123:log-group:/aws/lambda/fn:*";
        assert_eq!(part(ResourceName, group), Some("/aws/lambda/fn"));
        let topic = "arn:aws:sns:us-east-1:123:alerts:0f1e-2d3c";
        assert_eq!(part(ResourceType, topic), None);
        assert_eq!(part(ResourceName, topic), Some("alerts"));
    }

    #[test]
    fn iam_paths_are_dropped_other_slashes_kept() {
        let role = "arn:aws:iam::123:role/service-role/Exec";
        assert_eq!(part(ResourceName, role), Some("Exec"));
        let managed = "arn:aws:iam::aws:policy/AdministratorAccess";
        assert_eq!(part(Account, managed), Some("aws"));
        assert_eq!(part(ResourceName, managed), Some("AdministratorAccess"));
        let repo = "arn:aws:ecr:us-east-1:123:repository/team/app";
        assert_eq!(part(ResourceName, repo), Some("team/app"));
        let root = "arn:aws:iam::123:root";
        assert_eq!(part(ResourceType, root), None);
        assert_eq!(part(ResourceName, root), Some("root"));
        assert_eq!(part(ResourceName, "arn:aws:iam::123:role/"), None);
    }

    #[test]
    fn malformed_values_have_no_parts() {
        for bad in [
            "",
            "arn",
            "arn:aws",
            "arn:aws:iam::123",
            "arn:aws:iam::123:",
            "arn::iam::123:role/x",
            "arn:aws::us-east-1:123:x",
            "ARN:aws:iam::123:role/x",
            "urn:aws:iam::123:role/x",
            "arn:aws:iam:: 123:role/x",
            "not an arn",
        ] {
            for (_, p) in ArnPart::ALL {
                assert_eq!(p.of(bad), None, "{p:?} of {bad:?}");
            }
        }
    }

    #[test]
    fn functions_name_parts() {
        assert_eq!(ArnPart::from_function("arn_account"), Some(Account));
        assert_eq!(
            ArnPart::from_function("ARN_Resource_Name"),
            Some(ResourceName)
        );
        assert_eq!(ArnPart::from_function("arn_nope"), None);
        assert_eq!(ResourceType.function(), "arn_resource_type");
    }
}
