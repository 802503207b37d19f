/*
 * stmt.h: the statements of sluice-runner, named and prepared once per
 * connection (lib/db.h). SQL lives here and in the migrations, never
 * built from input.
 */
#ifndef RUN_STMT_H
#define RUN_STMT_H

#include "db.h"

enum run_stmt {
    RUN_ST_OUTBOX_DUE,
    RUN_ST_OUTBOX_SENT,
    RUN_ST_OUTBOX_FAILED,
    RUN_ST_CONNECTOR,
    RUN_ST_CLAIM_NEXT,
    RUN_ST_FINISH,
    RUN_ST_STEPS,
    RUN_ST_LOGS,
    RUN_ST_RELEASE,
    RUN_ST_HEARTBEAT,
    RUN_ST_SWEEP,
    RUN_ST_RECONCILE,
    RUN_ST_SCHED_LOCK,
    RUN_ST_SCHED_UNLOCK,
    RUN_ST_SCHED_DUE,
    RUN_ST_SCHED_FIRE,
    RUN_ST_SCHED_DISABLE,
    RUN_ST_SCHED_QUEUED,
    RUN_ST_FATE,
    RUN_ST_ENLIST,
    RUN_ST_PART_DONE,
    RUN_ST_PART_DUE,
    RUN_ST_PART_FILE,
    RUN_ST_PART_CONNECTOR,
    RUN_ST_MAY_CLAIM,
    RUN_ST_LINEAGE,
    RUN_ST_COUNT_,
};

extern const struct sl_db_stmt run_stmts[RUN_ST_COUNT_];

#endif
