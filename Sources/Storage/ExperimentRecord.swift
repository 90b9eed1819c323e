import Foundation

/// Training progress as the worker last reported it.
public struct ProgressRecord: Equatable, Sendable {
    /// The epoch being trained (0 before the first one).
    public var epoch: Int
    /// The total number of epochs planned.
    public var epochs: Int
    /// Environment steps collected so far.
    public var environmentSteps: Int
    /// Gradient updates applied so far.
    public var gradientSteps: Int
    /// What the worker is doing now (e.g. "collecting", "training", "evaluating").
    public var phase: String?
    /// Estimated seconds until the run completes.
    public var etaSeconds: Double?
    /// The most recent evaluation return.
    public var lastReturn: Double?
    /// The most recent evaluation success rate in [0, 1].
    public var lastSuccessRate: Double?

    /// Creates a progress report; every field defaults to "nothing yet".
    public init(epoch: Int = 0, epochs: Int = 0, environmentSteps: Int = 0, gradientSteps: Int = 0,
                phase: String? = nil, etaSeconds: Double? = nil,
                lastReturn: Double? = nil, lastSuccessRate: Double? = nil) {
        self.epoch = epoch
        self.epochs = epochs
        self.environmentSteps = environmentSteps
        self.gradientSteps = gradientSteps
        self.phase = phase
        self.etaSeconds = etaSeconds
        self.lastReturn = lastReturn
        self.lastSuccessRate = lastSuccessRate
    }
}

/// What the service submits to create an experiment.
public struct NewExperiment: Equatable, Sendable {
    /// A display name.
    public var name: String
    /// The environment (or multi-task mix) name, for listing.
    public var environment: String
    /// The validated spec as JSON text.
    public var spec: String
    /// The planned number of epochs (copied into `progress.epochs`).
    public var epochs: Int
    /// The `Idempotency-Key` header, if the client sent one.
    public var idempotencyKey: String?
    /// A digest of the request body, compared when `idempotencyKey` is reused.
    public var requestHash: String?
    /// The group (study) it belongs to.
    public var group: String?
    /// Labels for filtering (repeats are stored once).
    public var tags: [String]
    /// The sweep that created it (set by `createSweep`).
    public var sweepID: String?
    /// The sweep point's values as a JSON object text, e.g. `{"seed":1}` (set by `createSweep`).
    public var sweepPoint: String?

    /// Describes a new experiment.
    public init(name: String, environment: String, spec: String, epochs: Int = 0,
                idempotencyKey: String? = nil, requestHash: String? = nil,
                group: String? = nil, tags: [String] = [], sweepID: String? = nil, sweepPoint: String? = nil) {
        self.name = name
        self.environment = environment
        self.spec = spec
        self.epochs = epochs
        self.idempotencyKey = idempotencyKey
        self.requestHash = requestHash
        self.group = group
        self.tags = tags
        self.sweepID = sweepID
        self.sweepPoint = sweepPoint
    }
}

/// One training run, as stored.
public struct ExperimentRecord: Equatable, Sendable {
    /// A 12-character URL-safe random id.
    public var id: String
    /// The display name.
    public var name: String
    /// The environment name.
    public var environment: String
    /// The spec as JSON text.
    public var spec: String
    /// The current life-cycle state.
    public var status: ExperimentStatus
    /// When it was created.
    public var createdAt: Date
    /// When any field last changed.
    public var updatedAt: Date
    /// When it last entered `queued` (orders the job queue; resumes queue behind waiting jobs).
    public var queuedAt: Date
    /// When a worker last claimed it.
    public var startedAt: Date?
    /// When it last reached a finished status.
    public var finishedAt: Date?
    /// Why it failed, for `failed` experiments.
    public var errorMessage: String?
    /// The idempotency key it was created with.
    public var idempotencyKey: String?
    /// Progress as last reported.
    public var progress: ProgressRecord
    /// The worker that claimed it, while running.
    public var workerID: String?
    /// The worker's last heartbeat, while running.
    public var heartbeatAt: Date?
    /// Until when the worker's claim holds (renewed by its heartbeat); once it has passed, the
    /// worker is presumed dead and another may take the job over.
    public var leaseExpiresAt: Date?
    /// A counter bumped on every change; the service's ETag.
    public var version: Int
    /// The group (study) it belongs to.
    public var group: String?
    /// Its labels, in the order given.
    public var tags: [String]
    /// The sweep that created it.
    public var sweepID: String?
    /// The sweep point's values as a JSON object text.
    public var sweepPoint: String?

    static let columns = """
        id, name, environment, spec, status, created_at, updated_at, queued_at, started_at, \
        finished_at, error_message, idempotency_key, epoch, epochs, env_steps, grad_steps, phase, \
        eta_seconds, last_return, last_success_rate, worker_id, heartbeat_at, lease_expires_at, version, \
        group_name, tags, sweep_id, sweep_point
        """

    /// Decodes a row selected with `columns`.
    init(row: SQLRow) throws {
        let statusText = try row.string("status")
        guard let status = ExperimentStatus(rawValue: statusText) else {
            throw StorageError.database(message: "unknown status '\(statusText)'", sql: nil)
        }
        id = try row.string("id")
        name = try row.string("name")
        environment = try row.string("environment")
        spec = try row.string("spec")
        self.status = status
        createdAt = try row.date("created_at")
        updatedAt = try row.date("updated_at")
        queuedAt = try row.date("queued_at")
        startedAt = try row.optionalDate("started_at")
        finishedAt = try row.optionalDate("finished_at")
        errorMessage = try row.optionalString("error_message")
        idempotencyKey = try row.optionalString("idempotency_key")
        progress = ProgressRecord(
            epoch: try row.int("epoch"), epochs: try row.int("epochs"), environmentSteps: try row.int("env_steps"),
            gradientSteps: try row.int("grad_steps"), phase: try row.optionalString("phase"),
            etaSeconds: try row.optionalDouble("eta_seconds"), lastReturn: try row.optionalDouble("last_return"),
            lastSuccessRate: try row.optionalDouble("last_success_rate"))
        workerID = try row.optionalString("worker_id")
        heartbeatAt = try row.optionalDate("heartbeat_at")
        leaseExpiresAt = try row.optionalDate("lease_expires_at")
        version = try row.int("version")
        group = try row.optionalString("group_name")
        tags = TagList.decode(try row.string("tags"))
        sweepID = try row.optionalString("sweep_id")
        sweepPoint = try row.optionalString("sweep_point")
    }

    /// Fetches one experiment or nil.
    static func fetch(_ db: any SQLTransaction, id: String, locking: Bool = false) throws -> ExperimentRecord? {
        // Inside a write on PostgreSQL, FOR UPDATE holds the row until commit, so transitions
        // of one experiment (and their history rows) happen one after another.
        let lock = locking && db.dialect == .postgres ? " FOR UPDATE" : ""
        return try db.queryOne("SELECT \(columns) FROM experiments WHERE id = ?\(lock)", [id])
            .map(ExperimentRecord.init(row:))
    }

    /// Fetches one experiment or throws `notFound`.
    static func require(_ db: any SQLTransaction, id: String, locking: Bool = false) throws -> ExperimentRecord {
        guard let experiment = try fetch(db, id: id, locking: locking) else {
            throw StorageError.notFound(kind: "experiment", id: id)
        }
        return experiment
    }
}

/// One page of an experiment listing.
public struct ExperimentPage: Equatable, Sendable {
    /// The experiments, newest first.
    public var experiments: [ExperimentRecord]
    /// Pass this back as `cursor` to get the next page; nil on the last page.
    public var nextCursor: String?
}

/// The result of an idempotent create.
public struct ExperimentCreation: Equatable, Sendable {
    /// The experiment, new or previously created with the same idempotency key and body.
    public var experiment: ExperimentRecord
    /// False when an earlier request with the same key and body had already created it.
    public var isNew: Bool
}

/// Tags as stored on the experiment row: a JSON array of strings.
enum TagList {
    static func encode(_ tags: [String]) -> String {
        (try? JSONEncoder().encode(tags)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
    }

    static func decode(_ text: String) -> [String] {
        (try? JSONDecoder().decode([String].self, from: Data(text.utf8))) ?? []
    }
}
