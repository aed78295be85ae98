"""Labels shown for stored codes (role kinds, org levels, audit events, object types), shared by
views, services and reports so a code reads the same everywhere."""

from flask_babel import lazy_gettext as _l


def N_(msgid: str) -> str:
    """Marks a msgid for extraction where the text is stored and translated later (`_(value)`)."""
    return msgid


ROLE_LABELS = {
    "center": _l("Ministry center"),
    "province": _l("Provincial authority"),
    "city": _l("City authority"),
    "institution": _l("Training institution"),
    "trainer": _l("Trainer"),
    "trainee": _l("Trainee"),
    "sysadmin": _l("System administrator"),
    "secadmin": _l("Security administrator"),
    "auditor": _l("Auditor"),
}


def role_label(kind) -> str:
    return str(ROLE_LABELS.get(kind, kind or ""))


EVENT_LABELS = {
    "login": _l("Login"),
    "login_failed": _l("Login failed"),
    "login_locked": _l("Login while locked"),
    "lockout": _l("Account locked"),
    "logout": _l("Logout"),
    "password_change": _l("Password changed"),
    "password_reset": _l("Password reset"),
    "role_change": _l("Role changed"),
    "sync_roles": _l("Roles synchronised"),
    "create": _l("Created"),
    "update": _l("Changed"),
    "delete": _l("Deleted"),
    "export": _l("Export"),
    "import": _l("Import"),
    "purge_audit": _l("Audit log purged"),
    "audit_verify": _l("Audit chain verified"),
    "access_refused": _l("Access refused (outside the area)"),
    "review_submit": _l("Submitted for review"),
    "review_resubmit": _l("Resubmitted for review"),
    "review_approve": _l("Review: approved"),
    "review_return": _l("Review: returned"),
    "review_reject": _l("Review: rejected"),
    "review_correct": _l("Correction started"),
    "overdue_report": _l("Overdue report"),
    "notice_publish": _l("Notice published"),
    "notice_correct": _l("Notice corrected"),
    "notice_withdraw": _l("Notice withdrawn"),
    "download": _l("Download"),
    "application_allow_late": _l("Late application allowed"),
    # Issue 15 point 3: every event the platform records, in words.
    "account_allocated": _l("Account allocated"),
    "account_change_approved": _l("Account change approved"),
    "account_change_proposed": _l("Account change proposed"),
    "account_created": _l("Account created"),
    "account_deactivated": _l("Account deactivated"),
    "institution_created": _l("Institution created"),
    "availability": _l("Trainer availability"),
    "course_trainees": _l("Course resource marked for trainees"),
    "needs_analysis": _l("Training needs analysis"),
    "questionnaire_version": _l("Questionnaire version saved"),
    "recovery_code_used": _l("Recovery code used"),
    "recovery_codes_renewed": _l("Recovery codes renewed"),
    "reset_notice_shown": _l("Password reset notice shown"),
    "second_factor_enrol": _l("Two-factor authentication set up"),
    "second_factor_reset": _l("Two-factor authentication reset"),
    "trainee_add": _l("Trainee added"),
    "trainee_import": _l("Trainees imported"),
    "trainee_withdraw": _l("Trainee withdrawn"),
    "trainer_assign": _l("Trainer assigned"),
    "trainer_remove": _l("Trainer removed"),
    "dispatch_created": _l("Dispatch opened"),
    "dispatch_criteria": _l("Criteria saved"),
    "dispatch_proposed": _l("Candidates proposed"),
    "dispatch_requested": _l("Request sent"),
    "dispatch_accepted": _l("Request accepted"),
    "dispatch_declined": _l("Request declined"),
    "recommendation_computed": _l("Recommendation computed"),
    # Rows 12–14: the notices (the same words as the dispatch's history).
    "dispatch_issued": _l("Notice issued"),
    "dispatch_confirmed": _l("Notice confirmed"),
    "dispatch_objected": _l("Objection raised"),
    "dispatch_kept": _l("Objection answered, choice kept"),
    "dispatch_replaced": _l("Trainer replaced, notice withdrawn"),
    "dispatch_completed": _l("Dispatch confirmed, trainers assigned to the class"),
    "document_issued": _l("Document issued"),
    "document_withdrawn": _l("Document withdrawn"),
    "document_download": _l("Document downloaded"),
    "withdraw_round": _l("Plan round withdrawn"),
    # [grades] row 19
    "trial_score": _l("Trial lecture scored"),
    "written_scores": _l("Written-test scores entered"),
    "attendance_marked": _l("Attendance marked"),
    "grade_scheme_version": _l("Grade scheme version saved"),
    # rows 20–21: after the class
    "activity_report_save": _l("Class activity report saved"),
    "trainer_feedback": _l("Feedback on a trainer submitted"),
    # [certs] rows 22–23
    "certificates_saved": _l("Certificate information saved"),
    "faculty_pool_entered": _l("Qualified lecturers entered into the faculty pool"),
    "class_closed": _l("Class closed"),
}
OBJECT_LABELS = {
    "Org": _l("Organisation"),
    "MalanUser": _l("Account"),
    "Role": _l("Role"),
    "AuditLog": _l("Audit log"),
    "PlanRound": _l("Plan round"),
    "TrainingPlan": _l("Trainer-training plan"),
    "PlanLine": _l("Plan line"),
    "ClassApplication": _l("Class application"),
    "TrainingClass": _l("Trainer-training class"),
    "Attachment": _l("Attachment"),
    "Notice": _l("Notice"),
    "Roster": _l("Liaison roster"),
    "LoginApplication": _l("Login application"),
    "FacultyProfile": _l("Trainer profile"),
    "MentorProfile": _l("Mentor"),
    "CourseResource": _l("Course resource"),
    "Term": _l("Levels and course types"),
    # Issue 15 point 3: every kind of row the log can name, in words.
    "AccountRequest": _l("Account change"),
    "Availability": _l("Trainer availability"),
    "Booking": _l("Availability booking"),
    "ClassTrainee": _l("Trainee"),
    "ClassTrainer": _l("Class trainers"),
    "Conversation": _l("Conversation"),
    "ConversationRead": _l("Conversation read mark"),
    "Dispatch": _l("Trainer dispatch"),
    "DispatchCandidate": _l("Dispatch candidate"),
    "DispatchEvent": _l("Dispatch history"),
    "DispatchSeat": _l("Dispatch request"),
    "RecommendationRun": _l("Stored recommendation"),
    "CalendarChange": _l("Availability change"),
    "IssuedDocument": _l("Issued document"),
    "EvaluationAnswer": _l("Evaluation answer"),
    "EvaluationReminder": _l("Evaluation reminder"),
    "EvaluationResponse": _l("Response to feedback"),
    "EvaluationSubmission": _l("Evaluation form"),
    "Message": _l("Message"),
    "NeedsAnalysis": _l("Training needs analysis"),
    "NoticeAudience": _l("Notice audience"),
    "NoticeRead": _l("Read receipts"),
    "NoticeRevision": _l("Notice version"),
    "Questionnaire": _l("Evaluation questionnaires"),
    "RecordComment": _l("Comments"),
    "RecoveryCode": _l("Recovery codes"),
    "ReviewEvent": _l("Review history"),
    "ReviewRevision": _l("Revision under review"),
    "ReviewTask": _l("Review task"),
    "RosterEntry": _l("Roster entry"),
    "StagedUpload": _l("Staged upload"),
    "LoginSession": _l("Sign-in session"),
    "PasswordHistory": _l("Password history"),
    "ApiKey": _l("API key"),
    "AuditChainHead": _l("Audit chain"),
    "Faculty": _l("Faculty pool"),
    "PlanSummary": _l("Plan summary"),
    "Summary": _l("Statistical summary"),  # [summaries] 统计汇总 exports
    "RosterAccountSheet": _l("Account sheet"),
    "Permission": _l("Permission"),
    "PermissionView": _l("Permission"),
    "ViewMenu": _l("Permission"),
    "User": _l("Account"),
    "RegisterUser": _l("Account"),
    "Group": _l("Role"),
    # [grades] row 19
    "GradeScheme": _l("Grade scheme"),
    "GradeSheet": _l("Grade sheet"),
    "GradeEntry": _l("Grade sheet line"),
    "TrialScore": _l("Trial-lecture score sheet"),
    # rows 20–21
    "ActivityReport": _l("Class activity report"),
    "TrainerFeedback": _l("Feedback on the trainer's teaching"),
    # [certs] rows 22–23
    "CertificateBatch": _l("Certificate information"),
    "Certificate": _l("Qualified lecturer certificate"),
}


def event_label(code) -> str:
    """Known events in the user's language; others (e.g. review_* of later modules) as coded."""
    return str(EVENT_LABELS.get(code, code or ""))


def object_label(name) -> str:
    return str(OBJECT_LABELS.get(name, name or ""))
