//! The data stream naming scheme, `type-dataset-namespace` (e.g. `logs-eshunt.alerts-default`):
//! which targets are data streams, and the index pattern that covers every namespace of one.
//! Setup installs templates by it; the configuration refuses a data stream as the state index.

/// The index pattern covering the alert target: `logs-eshunt.alerts-default` →
/// `logs-eshunt.alerts-*` (every namespace); other names are used as they are.
pub fn target_pattern(target: &str) -> String {
    match parts(target) {
        Some((kind, dataset, _)) => format!("{kind}-{dataset}-*"),
        None => target.to_string(),
    }
}

/// `type-dataset-namespace` when the target follows the data stream naming scheme.
fn parts(target: &str) -> Option<(&str, &str, &str)> {
    let (kind, rest) = target.split_once('-')?;
    let (dataset, namespace) = rest.rsplit_once('-')?;
    let known = matches!(kind, "logs" | "metrics" | "traces" | "synthetics");
    (known && !dataset.is_empty() && !namespace.is_empty()).then_some((kind, dataset, namespace))
}

/// True when the target is a data stream (named `type-dataset-namespace`).
pub fn is_data_stream(target: &str) -> bool {
    parts(target).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_streams_and_their_patterns() {
        assert_eq!(
            target_pattern("logs-eshunt.alerts-default"),
            "logs-eshunt.alerts-*"
        );
        assert!(is_data_stream("logs-eshunt.alerts-prod"));
        assert!(!is_data_stream("eshunt-alerts"));
        assert!(!is_data_stream("logs-nodataset"));
        assert_eq!(target_pattern("eshunt-alerts"), "eshunt-alerts");
    }
}
