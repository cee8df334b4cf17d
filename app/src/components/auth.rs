//! Who is signed in, shared by every page, refreshed when someone signs in
//! or out.
use leptos::prelude::*;

use crate::api::auth::{get_me, SignIn, SignOut, SignUp};
use crate::error::AppError;
use crate::model::Me;

/// Sign-in state and the actions that change it.
#[derive(Clone, Copy)]
pub struct AuthContext {
    pub sign_in: ServerAction<SignIn>,
    pub sign_up: ServerAction<SignUp>,
    pub sign_out: ServerAction<SignOut>,
    pub me: Resource<Result<Option<Me>, AppError>>,
}

impl AuthContext {
    /// Creates the actions and the resource that follows them.
    pub fn new() -> Self {
        let sign_in = ServerAction::<SignIn>::new();
        let sign_up = ServerAction::<SignUp>::new();
        let sign_out = ServerAction::<SignOut>::new();
        let me = Resource::new(
            move || {
                (
                    sign_in.version().get(),
                    sign_up.version().get(),
                    sign_out.version().get(),
                )
            },
            |_| get_me(),
        );
        AuthContext {
            sign_in,
            sign_up,
            sign_out,
            me,
        }
    }
}

impl Default for AuthContext {
    fn default() -> Self {
        Self::new()
    }
}

/// The app's auth context.
pub fn use_auth() -> AuthContext {
    expect_context::<AuthContext>()
}

/// Sends the visitor to the sign-in page: a 302 when rendering on the
/// server, a navigation in the browser. (Not `<Redirect/>`: during async
/// server rendering it could leave the response hanging.)
fn send_to_sign_in() {
    #[cfg(feature = "ssr")]
    leptos_axum::redirect("/signin");
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        let _ = window().location().set_href("/signin");
    }
}

/// Renders `render` with the signed-in user, or sends visitors to sign in.
#[component]
pub fn RequireUser<F, V>(render: F) -> impl IntoView
where
    F: Fn(Me) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let auth = use_auth();
    let render = std::sync::Arc::new(render);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match auth.me.await {
                        Ok(Some(me)) => render(me).into_any(),
                        Ok(None) => {
                            send_to_sign_in();
                            view! {
                                <p class="muted">"Please "<a href="/signin">"sign in"</a>" to continue."</p>
                            }
                            .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}
