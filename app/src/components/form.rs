//! Form helpers: the error banner and per-field messages.
use leptos::prelude::*;

use crate::error::AppError;

/// The error of the last submission, if any.
pub fn last_error<S, T>(value: S) -> Signal<Option<AppError>>
where
    S: Get<Value = Option<Result<T, AppError>>> + Send + Sync + 'static,
    T: Send + Sync + 'static,
{
    Signal::derive(move || value.get().and_then(|r| r.err()))
}

/// A banner with the error's message.
#[component]
pub fn ErrorBanner(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error.get().map(|e| {
            view! { <p class="alert alert-error" role="alert">{e.to_string()}</p> }
        })
    }
}

/// The message for one field, shown beside it.
#[component]
pub fn FieldMessage(error: Signal<Option<AppError>>, #[prop(into)] field: String) -> impl IntoView {
    move || {
        let field = field.clone();
        error
            .get()
            .and_then(|e| e.field_message(&field))
            .map(|m| view! { <span class="field-error" data-field=field>{m}</span> })
    }
}
