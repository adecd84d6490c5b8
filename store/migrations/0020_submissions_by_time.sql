-- Every submission newest first (the admins' audit of review decisions):
-- read from an index in order instead of sorting the whole table, with
-- or without a state.
CREATE INDEX submissions_by_time ON submissions (created_at, id);
CREATE INDEX submissions_by_state_time ON submissions (state, created_at, id);
