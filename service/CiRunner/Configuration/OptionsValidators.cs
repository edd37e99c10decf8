using Microsoft.Extensions.Options;

namespace CiRunner.Configuration;

// One source-generated validator per section. The rules are the attributes on each options class (and, for rules across
// keys, its IValidatableObject); ConfigurationLoader runs these validators on what it binds, and IOptions<T> runs them at start.

[OptionsValidator]
public sealed partial class ServiceOptionsValidator : IValidateOptions<ServiceOptions>;

[OptionsValidator]
public sealed partial class DockerOptionsValidator : IValidateOptions<DockerOptions>;

// One entry of Docker:Engines, bound on its own so that each failure names its entry's key (Docker:Engines:1:Capacity).
[OptionsValidator]
public sealed partial class EngineOptionsValidator : IValidateOptions<EngineOptions>;

[OptionsValidator]
public sealed partial class ScheduleOptionsValidator : IValidateOptions<ScheduleOptions>;

[OptionsValidator]
public sealed partial class RetentionOptionsValidator : IValidateOptions<RetentionOptions>;

[OptionsValidator]
public sealed partial class HttpOptionsValidator : IValidateOptions<HttpOptions>;

[OptionsValidator]
public sealed partial class ReportingOptionsValidator : IValidateOptions<ReportingOptions>;

[OptionsValidator]
public sealed partial class GerritOptionsValidator : IValidateOptions<GerritOptions>;

[OptionsValidator]
public sealed partial class StoreOptionsValidator : IValidateOptions<StoreOptions>;

[OptionsValidator]
public sealed partial class SnapshotOptionsValidator : IValidateOptions<SnapshotOptions>;

[OptionsValidator]
public sealed partial class BisectOptionsValidator : IValidateOptions<BisectOptions>;

[OptionsValidator]
public sealed partial class FlakeOptionsValidator : IValidateOptions<FlakeOptions>;
