//! The event view: raw CloudTrail records and Elastic ECS documents, looked up by CloudTrail names.

pub mod to_ecs;
