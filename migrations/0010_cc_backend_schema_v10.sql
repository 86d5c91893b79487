-- cc-backend SQLite schema at migration version 10, created in one step on an EMPTY database.
--
-- cc-backend reaches version 10 through its migrations 01-10 (several of which rebuild tables and
-- patch sqlite_master). We never apply those separately: a fresh database gets this file, and the
-- runner then records versions 1..10 as done in `schema_migrations`. A database created by
-- cc-backend (version 10 or 11) already has this schema (development builds wrote variants of it,
-- see tests/fixtures/cc-backend-sample/README.md) and skips this file.
--
-- Derived from cc-backend internal/repository/migrations/sqlite3/01-10 (MIT, NHR@FAU) and checked
-- against its test database. Differences in spelling only: string literals use single quotes
-- (cc-backend writes some with double quotes, which SQLite builds without DQS reject).
--
-- Every statement ends with a semicolon at the end of a line: the runner splits on exactly that.

CREATE TABLE tag (
    id        INTEGER PRIMARY KEY,
    tag_type  VARCHAR(255) NOT NULL,
    tag_name  VARCHAR(255) NOT NULL,
    insert_ts TEXT DEFAULT CURRENT_TIMESTAMP,
    tag_scope TEXT NOT NULL DEFAULT 'global',
    -- scope is deliberately not part of the key (compatibility with cc-backend)
    UNIQUE (tag_type, tag_name)
);

CREATE TABLE jobtag (
    job_id    INTEGER,
    tag_id    INTEGER,
    insert_ts TEXT DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (job_id, tag_id),
    FOREIGN KEY (job_id) REFERENCES job (id) ON DELETE CASCADE,
    FOREIGN KEY (tag_id) REFERENCES tag (id) ON DELETE CASCADE
);

CREATE TABLE hpc_user (
    username varchar(255) PRIMARY KEY NOT NULL,
    password varchar(255) DEFAULT NULL,
    -- called "ldap" for historic reasons: holds the auth source (0 local, 1 LDAP, 2 token, 3 OIDC)
    ldap     tinyint      NOT NULL DEFAULT 0,
    name     varchar(255) DEFAULT NULL,
    roles    varchar(255) NOT NULL DEFAULT '[]',
    email    varchar(255) DEFAULT NULL,
    projects varchar(255) NOT NULL DEFAULT '[]'
);

CREATE TABLE configuration (
    username varchar(255),
    confkey  varchar(255),
    value    text,
    PRIMARY KEY (username, confkey),
    FOREIGN KEY (username) REFERENCES hpc_user (username) ON DELETE CASCADE ON UPDATE NO ACTION
);

-- Freshly started jobs, moved to `job` by the periodic sync. Own id sequence: its ids are not job ids.
CREATE TABLE job_cache (
    id                INTEGER PRIMARY KEY,
    job_id            BIGINT NOT NULL,
    cluster           VARCHAR(255) NOT NULL,
    subcluster        VARCHAR(255) NOT NULL,
    submit_time       BIGINT NOT NULL DEFAULT 0,
    start_time        BIGINT NOT NULL DEFAULT 0,
    hpc_user          VARCHAR(255) NOT NULL,
    project           VARCHAR(255) NOT NULL,
    cluster_partition VARCHAR(255),
    array_job_id      BIGINT,
    duration          INT NOT NULL,
    walltime          INT NOT NULL,
    job_state         VARCHAR(255) NOT NULL
        CHECK (job_state IN (
            'boot_fail', 'cancelled', 'completed', 'deadline',
            'failed', 'node_fail', 'out_of_memory', 'pending',
            'preempted', 'running', 'suspended', 'timeout'
        )),
    meta_data         TEXT,
    resources         TEXT NOT NULL,
    num_nodes         INT NOT NULL,
    num_hwthreads     INT,
    num_acc           INT,
    smt               TINYINT NOT NULL DEFAULT 1 CHECK (smt IN (0, 1)),
    shared            TEXT NOT NULL
        CHECK (shared IN ('none', 'single_user', 'multi_user')),
    monitoring_status TINYINT NOT NULL DEFAULT 1
        CHECK (monitoring_status IN (0, 1, 2, 3)),
    energy            REAL NOT NULL DEFAULT 0.0,
    energy_footprint  TEXT DEFAULT NULL,
    footprint         TEXT DEFAULT NULL,
    UNIQUE (job_id, cluster, start_time)
);

CREATE TABLE job (
    id                INTEGER PRIMARY KEY,
    job_id            BIGINT NOT NULL,
    cluster           TEXT NOT NULL,
    subcluster        TEXT NOT NULL,
    submit_time       BIGINT NOT NULL DEFAULT 0,
    start_time        BIGINT NOT NULL DEFAULT 0,
    hpc_user          TEXT NOT NULL,
    project           TEXT NOT NULL,
    cluster_partition TEXT,
    array_job_id      BIGINT,
    duration          INT NOT NULL,
    walltime          INT NOT NULL,
    job_state         TEXT NOT NULL
        CHECK (job_state IN (
            'boot_fail', 'cancelled', 'completed', 'deadline',
            'failed', 'node_fail', 'out_of_memory', 'pending',
            'preempted', 'running', 'suspended', 'timeout'
        )),
    meta_data         TEXT,
    resources         TEXT NOT NULL,
    num_nodes         INT NOT NULL,
    num_hwthreads     INT,
    num_acc           INT,
    smt               INT NOT NULL DEFAULT 1,
    shared            TEXT NOT NULL
        CHECK (shared IN ('none', 'single_user', 'multi_user')),
    monitoring_status TINYINT NOT NULL DEFAULT 1
        CHECK (monitoring_status IN (0, 1, 2, 3)),
    energy            REAL NOT NULL DEFAULT 0.0,
    energy_footprint  TEXT DEFAULT NULL,
    footprint         TEXT DEFAULT NULL,
    UNIQUE (job_id, cluster, start_time)
);

CREATE TABLE node (
    id         INTEGER PRIMARY KEY,
    hostname   VARCHAR(255) NOT NULL,
    cluster    VARCHAR(255) NOT NULL,
    subcluster VARCHAR(255) NOT NULL,
    meta_data  TEXT,
    UNIQUE (hostname, cluster)
);

-- Append-only history of node states.
CREATE TABLE node_state (
    id               INTEGER PRIMARY KEY,
    time_stamp       INTEGER NOT NULL,
    jobs_running     INTEGER DEFAULT 0 NOT NULL,
    cpus_allocated   INTEGER DEFAULT 0 NOT NULL,
    memory_allocated INTEGER DEFAULT 0 NOT NULL,
    gpus_allocated   INTEGER DEFAULT 0 NOT NULL,
    node_state       VARCHAR(255) NOT NULL
        CHECK (node_state IN (
            'allocated', 'reserved', 'idle', 'mixed',
            'down', 'unknown'
        )),
    health_state     VARCHAR(255) NOT NULL
        CHECK (health_state IN (
            'full', 'partial', 'failed'
        )),
    health_metrics   TEXT,
    node_id          INTEGER,
    FOREIGN KEY (node_id) REFERENCES node (id)
);

CREATE INDEX tags_jobid ON jobtag (job_id);
CREATE INDEX tags_tagid ON jobtag (tag_id);

CREATE INDEX nodes_cluster ON node (cluster);
CREATE INDEX nodes_cluster_subcluster ON node (cluster, subcluster);

CREATE INDEX nodestates_timestamp ON node_state (time_stamp);
CREATE INDEX nodestates_state_timestamp ON node_state (node_state, time_stamp);
CREATE INDEX nodestates_health_timestamp ON node_state (health_state, time_stamp);
CREATE INDEX nodestates_nodeid_state ON node_state (node_id, node_state);
CREATE INDEX nodestates_nodeid_health ON node_state (node_id, health_state);
CREATE INDEX nodestates_nodeid_timestamp ON node_state (node_id, time_stamp DESC);

-- Job indexes as cc-backend migration 09 creates them (78). Migration 11 prunes them.
-- Cluster filter, and sorting within a cluster
CREATE INDEX jobs_cluster_user ON job (cluster, hpc_user);
CREATE INDEX jobs_cluster_project ON job (cluster, project);
CREATE INDEX jobs_cluster_subcluster ON job (cluster, subcluster);
CREATE INDEX jobs_cluster_numnodes ON job (cluster, num_nodes);
CREATE INDEX jobs_cluster_numhwthreads ON job (cluster, num_hwthreads);
CREATE INDEX jobs_cluster_numacc ON job (cluster, num_acc);
CREATE INDEX jobs_cluster_energy ON job (cluster, energy);
CREATE INDEX jobs_cluster_duration_starttime ON job (cluster, duration, start_time);
CREATE INDEX jobs_cluster_starttime_duration ON job (cluster, start_time, duration);

-- Cluster + partition
CREATE INDEX jobs_cluster_partition_user ON job (cluster, cluster_partition, hpc_user);
CREATE INDEX jobs_cluster_partition_project ON job (cluster, cluster_partition, project);
CREATE INDEX jobs_cluster_partition_jobstate ON job (cluster, cluster_partition, job_state);
CREATE INDEX jobs_cluster_partition_shared ON job (cluster, cluster_partition, shared);
CREATE INDEX jobs_cluster_partition_numnodes ON job (cluster, cluster_partition, num_nodes);
CREATE INDEX jobs_cluster_partition_numhwthreads ON job (cluster, cluster_partition, num_hwthreads);
CREATE INDEX jobs_cluster_partition_numacc ON job (cluster, cluster_partition, num_acc);
CREATE INDEX jobs_cluster_partition_energy ON job (cluster, cluster_partition, energy);
CREATE INDEX jobs_cluster_partition_duration_starttime ON job (cluster, cluster_partition, duration, start_time);
CREATE INDEX jobs_cluster_partition_starttime_duration ON job (cluster, cluster_partition, start_time, duration);

-- Cluster + job state
CREATE INDEX jobs_cluster_jobstate_user ON job (cluster, job_state, hpc_user);
CREATE INDEX jobs_cluster_jobstate_project ON job (cluster, job_state, project);
CREATE INDEX jobs_cluster_jobstate_numnodes ON job (cluster, job_state, num_nodes);
CREATE INDEX jobs_cluster_jobstate_numhwthreads ON job (cluster, job_state, num_hwthreads);
CREATE INDEX jobs_cluster_jobstate_numacc ON job (cluster, job_state, num_acc);
CREATE INDEX jobs_cluster_jobstate_energy ON job (cluster, job_state, energy);
CREATE INDEX jobs_cluster_jobstate_starttime_duration ON job (cluster, job_state, start_time, duration);
CREATE INDEX jobs_cluster_jobstate_duration_starttime ON job (cluster, job_state, duration, start_time);

-- Cluster + shared
CREATE INDEX jobs_cluster_shared_user ON job (cluster, shared, hpc_user);
CREATE INDEX jobs_cluster_shared_project ON job (cluster, shared, project);
CREATE INDEX jobs_cluster_shared_numnodes ON job (cluster, shared, num_nodes);
CREATE INDEX jobs_cluster_shared_numhwthreads ON job (cluster, shared, num_hwthreads);
CREATE INDEX jobs_cluster_shared_numacc ON job (cluster, shared, num_acc);
CREATE INDEX jobs_cluster_shared_energy ON job (cluster, shared, energy);
CREATE INDEX jobs_cluster_shared_starttime_duration ON job (cluster, shared, start_time, duration);
CREATE INDEX jobs_cluster_shared_duration_starttime ON job (cluster, shared, duration, start_time);

-- User
CREATE INDEX jobs_user_numnodes ON job (hpc_user, num_nodes);
CREATE INDEX jobs_user_numhwthreads ON job (hpc_user, num_hwthreads);
CREATE INDEX jobs_user_numacc ON job (hpc_user, num_acc);
CREATE INDEX jobs_user_energy ON job (hpc_user, energy);
CREATE INDEX jobs_user_starttime_duration ON job (hpc_user, start_time, duration);
CREATE INDEX jobs_user_duration_starttime ON job (hpc_user, duration, start_time);

-- Project
CREATE INDEX jobs_project_user ON job (project, hpc_user);
CREATE INDEX jobs_project_numnodes ON job (project, num_nodes);
CREATE INDEX jobs_project_numhwthreads ON job (project, num_hwthreads);
CREATE INDEX jobs_project_numacc ON job (project, num_acc);
CREATE INDEX jobs_project_energy ON job (project, energy);
CREATE INDEX jobs_project_starttime_duration ON job (project, start_time, duration);
CREATE INDEX jobs_project_duration_starttime ON job (project, duration, start_time);

-- Job state
CREATE INDEX jobs_jobstate_user ON job (job_state, hpc_user);
CREATE INDEX jobs_jobstate_project ON job (job_state, project);
CREATE INDEX jobs_jobstate_numnodes ON job (job_state, num_nodes);
CREATE INDEX jobs_jobstate_numhwthreads ON job (job_state, num_hwthreads);
CREATE INDEX jobs_jobstate_numacc ON job (job_state, num_acc);
CREATE INDEX jobs_jobstate_energy ON job (job_state, energy);
CREATE INDEX jobs_jobstate_starttime_duration ON job (job_state, start_time, duration);
CREATE INDEX jobs_jobstate_duration_starttime ON job (job_state, duration, start_time);

-- Shared
CREATE INDEX jobs_shared_user ON job (shared, hpc_user);
CREATE INDEX jobs_shared_project ON job (shared, project);
CREATE INDEX jobs_shared_numnodes ON job (shared, num_nodes);
CREATE INDEX jobs_shared_numhwthreads ON job (shared, num_hwthreads);
CREATE INDEX jobs_shared_numacc ON job (shared, num_acc);
CREATE INDEX jobs_shared_energy ON job (shared, energy);
CREATE INDEX jobs_shared_starttime_duration ON job (shared, start_time, duration);
CREATE INDEX jobs_shared_duration_starttime ON job (shared, duration, start_time);

-- Array jobs
CREATE INDEX jobs_arrayjobid_starttime ON job (array_job_id, start_time);
CREATE INDEX jobs_cluster_arrayjobid_starttime ON job (cluster, array_job_id, start_time);

-- Single filters, sorted by start time
CREATE INDEX jobs_duration_starttime ON job (duration, start_time);
CREATE INDEX jobs_numnodes_starttime ON job (num_nodes, start_time);
CREATE INDEX jobs_numhwthreads_starttime ON job (num_hwthreads, start_time);
CREATE INDEX jobs_numacc_starttime ON job (num_acc, start_time);
CREATE INDEX jobs_energy_starttime ON job (energy, start_time);

-- Single filters, sorted by duration
CREATE INDEX jobs_starttime_duration ON job (start_time, duration);
CREATE INDEX jobs_numnodes_duration ON job (num_nodes, duration);
CREATE INDEX jobs_numhwthreads_duration ON job (num_hwthreads, duration);
CREATE INDEX jobs_numacc_duration ON job (num_acc, duration);
CREATE INDEX jobs_energy_duration ON job (energy, duration);

-- Plain sort columns
CREATE INDEX jobs_starttime ON job (start_time);
CREATE INDEX jobs_duration ON job (duration);
