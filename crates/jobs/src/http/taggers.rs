//! `GET /config/taggers/` and `POST /config/taggers/run/` (docs/taggers.md#routes).

use cc_auth::Group;
use cc_web::applog::{component_id, report, Priority};
use cc_web::openapi::{CrossSiteRefused, ErrorResponse};
use cc_web::{
    after_response, json_response, text_response, ApiError, Ctx, Platform, Response, Route,
    Variables,
};
use http::{Method, StatusCode};

use crate::repo::unix_now;
use crate::tagging::{
    run_batch, start_run, tagger_statuses, LoadedTagger, RunState, Tagger, TaggerError,
    TaggerStatus, BATCH_SIZE,
};

/// The config group's tagger routes.
pub static TAGGER_ROUTES: &[Route] = &[
    Route::new(Method::GET, "/config/taggers/", list_taggers),
    Route::new(Method::POST, "/config/taggers/run/", run_tagger),
];

impl From<TaggerError> for ApiError {
    fn from(error: TaggerError) -> Self {
        let status = match &error {
            TaggerError::MissingName => StatusCode::BAD_REQUEST,
            TaggerError::Unknown(_) | TaggerError::AlreadyRunning(_) => StatusCode::CONFLICT,
            TaggerError::Rules(_)
            | TaggerError::CorruptProgress(_)
            | TaggerError::Storage(_)
            | TaggerError::Jobs(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, error.to_string())
    }
}

/// The tagger folder when the `enable_job_taggers` variable is `true`: the automatic runs at
/// start and after archiving use it.
pub(crate) fn enabled_taggers_dir(platform: &dyn Platform) -> Option<std::path::PathBuf> {
    (platform.variable(Variables::ENABLE_JOB_TAGGERS).as_deref() == Some("true"))
        .then(|| platform.taggers_dir())
}

#[utoipa::path(
    get,
    path = "/config/taggers/",
    tag = "Config",
    summary = "List the job taggers",
    description = "The two built-in taggers, sorted by name, with whether a run over the stored \
                   jobs is in progress. Admin session only.",
    responses(
        (status = 200, description = "The taggers", body = Vec<TaggerStatus>,
            example = json!([{"name": "AppTagger", "type": "start", "running": false},
                             {"name": "JobClassTagger", "type": "stop", "running": false}])),
        (status = 401, description = "No valid admin session", body = ErrorResponse),
        (status = 500, description = "The key-value store failed", body = ErrorResponse),
    ),
    security(("SessionCookie" = [])),
)]
pub fn list_taggers(ctx: &Ctx) -> Result<Response, ApiError> {
    let kv = ctx.platform.kv()?;
    let statuses = tagger_statuses(kv.as_ref(), unix_now())?;
    json_response(StatusCode::OK, &statuses)
}

#[utoipa::path(
    post,
    path = "/config/taggers/run/",
    tag = "Config",
    summary = "Run a job tagger over the stored jobs",
    description = "Applies the tagger named by the form field `name` to every job that is not \
                   running, in batches of 200 jobs by id: the first batch before the answer, the \
                   rest after it. While the run makes progress the listing shows it as running \
                   and another run is refused; a run without progress for 60 s is resumed by the \
                   next request. Admin session only.",
    request_body(
        content = String,
        content_type = "application/x-www-form-urlencoded",
        description = "`name=AppTagger` or `name=JobClassTagger`",
    ),
    responses(
        (status = 200, description = "`Tagger <name> started`", body = String, content_type = "text/plain"),
        (status = 400, description = "The form has no `name`", body = ErrorResponse),
        (status = 401, description = "No valid admin session", body = ErrorResponse),
        CrossSiteRefused,
        (status = 409, description = "Unknown tagger, or a run of it is in progress", body = ErrorResponse),
        (status = 500, description = "Unreadable rule files or a storage failure", body = ErrorResponse),
    ),
    security(("SessionCookie" = [])),
)]
pub fn run_tagger(ctx: &Ctx) -> Result<Response, ApiError> {
    let form = ctx.form()?;
    let name = form.value("name");
    if name.is_empty() {
        return Err(TaggerError::MissingName.into());
    }
    let tagger = Tagger::from_name(name).ok_or_else(|| TaggerError::Unknown(name.to_owned()))?;
    let platform = ctx.platform;
    let loaded = LoadedTagger::load(tagger, &platform.taggers_dir(), &platform.clusters_dir())
        .map_err(TaggerError::from)?;
    let (db, kv) = (platform.sql()?, platform.kv()?);
    let state = start_run(
        db.as_ref(),
        kv.as_ref(),
        config_unit(),
        &loaded,
        BATCH_SIZE,
        unix_now(),
    )?;
    if state == RunState::Pending {
        after_response(move |platform| finish_run(platform, &loaded));
    }
    Ok(text_response(
        StatusCode::OK,
        format!("Tagger {} started", tagger.name()),
    ))
}

/// Runs are started in the config component; what they report is its.
fn config_unit() -> &'static str {
    component_id(Group::Config)
}

/// The remaining batches of a run, after the answer. Should the instance end first, the run's
/// progress goes stale and the next run request resumes it.
fn finish_run(platform: &dyn Platform, tagger: &LoadedTagger) {
    let stores = platform.sql().and_then(|db| Ok((db, platform.kv()?)));
    let (db, kv) = match stores {
        Ok(stores) => stores,
        // Without the database there is no application log to report to.
        Err(error) => {
            eprintln!("tagger run failed: {error}");
            return;
        }
    };
    loop {
        let batch = run_batch(
            db.as_ref(),
            kv.as_ref(),
            config_unit(),
            tagger,
            BATCH_SIZE,
            unix_now(),
        );
        match batch {
            Ok(RunState::Pending) => continue,
            Ok(RunState::Finished) => break,
            Err(error) => {
                let message = format!("tagger run failed: {error}");
                report(db.as_ref(), Priority::Error, config_unit(), &message);
                break;
            }
        }
    }
}
