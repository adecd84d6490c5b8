//! Where a submission is in review: the values `submissions.state` holds.
//! Its own module because both the registry's queries (`submissions`) and
//! the search documents they refresh (`search`) read it.

stored_enum! {
    /// Where a submission is in review.
    pub enum SubmissionState("submission state") {
        /// Submitted and validated; waiting for a reviewer.
        PendingReview = "pending_review",
        /// Approved and signed: it may run.
        Approved = "approved",
        /// Refused by a reviewer.
        Rejected = "rejected",
        /// Was approved, then withdrawn: it must stop running everywhere.
        Revoked = "revoked",
    }
}
