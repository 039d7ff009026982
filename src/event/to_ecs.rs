//! Raw CloudTrail record → ECS document, the way Elastic's AWS integration maps it.
