-- Each owner's queue in claiming order: a claim walks the owners with
-- queued or waiting runs through this index and reads only the oldest few
-- of each, so its cost follows the number of owners waiting, not the
-- number of runs queued (a scan of `runs_due` read every queued run).
CREATE INDEX runs_queue ON runs (owner, not_before, created_at, id)
    WHERE status IN ('queued', 'waiting');
