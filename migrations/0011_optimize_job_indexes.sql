-- cc-backend migration 11 (optimize job indexes): changes only indexes of the `job` table.
--   - drops the sorting indexes that add little over a one- or two-column prefix (78 -> 48)
--   - adds covering indexes for grouped statistics and for the status views
--   - adds partial covering indexes over running jobs only
--
-- IF [NOT] EXISTS everywhere: databases written by older cc-backend builds at version 10 lack some
-- of the version-10 indexes, and this migration must still bring them to the version-11 set.
-- Equivalent to cc-backend internal/repository/migrations/sqlite3/11_optimize-indexes.up.sql (MIT).

DROP INDEX IF EXISTS jobs_cluster_partition_numnodes;
DROP INDEX IF EXISTS jobs_cluster_partition_numhwthreads;
DROP INDEX IF EXISTS jobs_cluster_partition_numacc;
DROP INDEX IF EXISTS jobs_cluster_partition_energy;

DROP INDEX IF EXISTS jobs_cluster_jobstate_numnodes;
DROP INDEX IF EXISTS jobs_cluster_jobstate_numhwthreads;
DROP INDEX IF EXISTS jobs_cluster_jobstate_numacc;
DROP INDEX IF EXISTS jobs_cluster_jobstate_energy;

DROP INDEX IF EXISTS jobs_cluster_shared_numnodes;
DROP INDEX IF EXISTS jobs_cluster_shared_numhwthreads;
DROP INDEX IF EXISTS jobs_cluster_shared_numacc;
DROP INDEX IF EXISTS jobs_cluster_shared_energy;

DROP INDEX IF EXISTS jobs_user_numnodes;
DROP INDEX IF EXISTS jobs_user_numhwthreads;
DROP INDEX IF EXISTS jobs_user_numacc;
DROP INDEX IF EXISTS jobs_user_energy;

DROP INDEX IF EXISTS jobs_project_numnodes;
DROP INDEX IF EXISTS jobs_project_numhwthreads;
DROP INDEX IF EXISTS jobs_project_numacc;
DROP INDEX IF EXISTS jobs_project_energy;

DROP INDEX IF EXISTS jobs_jobstate_numnodes;
DROP INDEX IF EXISTS jobs_jobstate_numhwthreads;
DROP INDEX IF EXISTS jobs_jobstate_numacc;
DROP INDEX IF EXISTS jobs_jobstate_energy;

DROP INDEX IF EXISTS jobs_shared_numnodes;
DROP INDEX IF EXISTS jobs_shared_numhwthreads;
DROP INDEX IF EXISTS jobs_shared_numacc;
DROP INDEX IF EXISTS jobs_shared_energy;

DROP INDEX IF EXISTS jobs_cluster_arrayjobid_starttime;

DROP INDEX IF EXISTS jobs_duration;

-- Grouped statistics: cluster (equality), user/project (GROUP BY), start_time (range), then the
-- aggregated columns so that no table lookup is needed.
CREATE INDEX IF NOT EXISTS jobs_cluster_user_starttime_stats
    ON job (cluster, hpc_user, start_time, duration, job_state, num_nodes, num_hwthreads, num_acc);
CREATE INDEX IF NOT EXISTS jobs_cluster_project_starttime_stats
    ON job (cluster, project, start_time, duration, job_state, num_nodes, num_hwthreads, num_acc);

-- Status views: cluster and state (equality), grouping column, aggregated columns.
-- These subsume the three-column cluster+state+user/project indexes.
DROP INDEX IF EXISTS jobs_cluster_jobstate_user;
DROP INDEX IF EXISTS jobs_cluster_jobstate_project;

CREATE INDEX IF NOT EXISTS jobs_cluster_jobstate_user_stats
    ON job (cluster, job_state, hpc_user, duration, start_time, num_nodes, num_hwthreads, num_acc);
CREATE INDEX IF NOT EXISTS jobs_cluster_jobstate_project_stats
    ON job (cluster, job_state, project, duration, start_time, num_nodes, num_hwthreads, num_acc);
CREATE INDEX IF NOT EXISTS jobs_cluster_jobstate_subcluster_stats
    ON job (cluster, job_state, subcluster, duration, start_time, num_nodes, num_hwthreads, num_acc);

-- Running jobs only: tiny B-trees. SQLite uses them only when the query contains the literal
-- job_state = 'running' (a bound parameter does not match the partial-index condition).
CREATE INDEX IF NOT EXISTS jobs_running_user_stats
    ON job (cluster, hpc_user, num_nodes, num_hwthreads, num_acc, duration, start_time)
    WHERE job_state = 'running';
CREATE INDEX IF NOT EXISTS jobs_running_project_stats
    ON job (cluster, project, num_nodes, num_hwthreads, num_acc, duration, start_time)
    WHERE job_state = 'running';
CREATE INDEX IF NOT EXISTS jobs_running_subcluster_stats
    ON job (cluster, subcluster, num_nodes, num_hwthreads, num_acc, duration, start_time)
    WHERE job_state = 'running';

-- Refresh planner statistics after the index change.
PRAGMA optimize;
