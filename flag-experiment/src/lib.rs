//! Analyses AppConfig experiments from the CloudWatch EMF records flag-runtime writes: which
//! treatment won, with intervals and a sample-ratio check.
//!
//! The records are EMF lines (namespace `FlagExperiments` by default) with the dimensions `Flag`
//! and `Treatment` (`__c__`, `__t1__`, ...) and the property `EntityId`: an exposure is the
//! metric `Exposure`, an outcome a user-named metric with the property `OutcomeKind`
//! (`conversion`, `sum` or `mean`). The unit of analysis is the entity:
//!
//! | kind | per entity | interval | difference to control | test |
//! |---|---|---|---|---|
//! | `conversion` | 1 with any record, else 0 | Wilson | unpooled Wald | pooled two-proportion z |
//! | `sum` | the sum, 0 without a record | t, n - 1 df | Welch-Satterthwaite | Welch's t |
//! | `mean` | the mean; entities without a record left out (counted) | t, n - 1 df | Welch-Satterthwaite | Welch's t |
//!
//! p-values are also given adjusted across treatments (Holm). The sample-ratio check compares
//! the exposed entities per treatment with the experiment's weights (chi-square; a mismatch when
//! p < 0.001), and a winner is named only without a mismatch and when the primary metric's
//! difference interval excludes 0 in the better direction.
//!
//! ```
//! use flag_experiment::{analyze, parse, Options};
//!
//! let lines = r#"
//! {"_aws":{"CloudWatchMetrics":[{"Namespace":"FlagExperiments","Dimensions":[["Flag","Treatment"]],"Metrics":[{"Name":"Exposure"}]}]},"Flag":"button","Treatment":"__c__","EntityId":"a","Exposure":1}
//! {"_aws":{"CloudWatchMetrics":[{"Namespace":"FlagExperiments","Dimensions":[["Flag","Treatment"]],"Metrics":[{"Name":"Exposure"}]}]},"Flag":"button","Treatment":"__t1__","EntityId":"b","Exposure":1}
//! {"_aws":{"CloudWatchMetrics":[{"Namespace":"FlagExperiments","Dimensions":[["Flag","Treatment"]],"Metrics":[{"Name":"Order"}]}]},"Flag":"button","Treatment":"__t1__","EntityId":"b","OutcomeKind":"conversion","Order":1}
//! "#;
//! let (records, skipped) = parse(lines);
//! assert_eq!((records.len(), skipped), (3, 0));
//! let report = analyze(&records, &Options::default());
//! let treated = &report.flags["button"].treatments["__t1__"];
//! assert_eq!(treated.exposed, 1);
//! assert_eq!(treated.metrics["Order"].mean, Some(1.0));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod records;
mod report;
pub mod stats;

pub use records::{parse, Event, OutcomeKind, Record};
pub use report::{
    analyze, weights, FlagReport, MetricReport, Options, Report, TreatmentReport, CONTROL,
    SRM_THRESHOLD,
};
