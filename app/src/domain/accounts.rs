//! Merchants and users: sign-up, sign-in with a guessing limit, support accounts.
use entity::{login_attempt, merchant, user};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionTrait,
};
use time::Duration;
use uuid::Uuid;

use super::{conflict_on_unique, password};
use crate::error::{AppError, AppResult};
use crate::model::{Me, Role};

/// Failed sign-ins allowed per e-mail within [`LOCKOUT_WINDOW`].
pub const MAX_FAILURES_PER_EMAIL: u64 = 5;
/// Failed sign-ins allowed per client address within [`LOCKOUT_WINDOW`].
pub const MAX_FAILURES_PER_IP: u64 = 30;
/// The window over which failures are counted.
pub const LOCKOUT_WINDOW: Duration = Duration::minutes(15);

/// What a new merchant gives at sign-up.
#[derive(Clone, Debug)]
pub struct SignUp {
    pub merchant_name: String,
    pub email: String,
    pub password: String,
}

/// Normalises and checks an e-mail address.
pub fn parse_email(raw: &str) -> AppResult<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !domain.contains('@')
            }
            None => false,
        };
    if valid {
        Ok(email)
    } else {
        Err(AppError::field("email", "Enter a valid e-mail address."))
    }
}

/// Creates a merchant and its owner.
pub async fn sign_up<C: ConnectionTrait + TransactionTrait>(
    db: &C,
    input: SignUp,
) -> AppResult<user::Model> {
    let merchant_name = input.merchant_name.trim().to_string();
    if merchant_name.is_empty() || merchant_name.chars().count() > 120 {
        return Err(AppError::field(
            "merchant_name",
            "Enter your business name (up to 120 characters).",
        ));
    }
    let email = parse_email(&input.email)?;
    password::check_strength(&input.password)?;
    let password_hash = password::hash(input.password).await?;

    let txn = db.begin().await?;
    let now = entity::now();
    let merchant = merchant::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(merchant_name),
        slot_version: Set(0),
        created_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let user = user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        password_hash: Set(password_hash),
        role: Set(user::role::OWNER.to_string()),
        merchant_id: Set(Some(merchant.id)),
        created_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| {
        conflict_on_unique(
            e,
            "An account with this e-mail already exists. Sign in instead.",
        )
    })?;
    txn.commit().await?;
    Ok(user)
}

/// Creates a user of any role (used by the CLI and the demo data).
pub async fn create_user<C: ConnectionTrait>(
    db: &C,
    email: &str,
    password: String,
    role: Role,
    merchant_id: Option<Uuid>,
) -> AppResult<user::Model> {
    let email = parse_email(email)?;
    password::check_strength(&password)?;
    if role == Role::Owner && merchant_id.is_none() {
        return Err(AppError::field("merchant", "An owner needs a merchant."));
    }
    let password_hash = password::hash(password).await?;
    user::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email),
        password_hash: Set(password_hash),
        role: Set(role_name(role).to_string()),
        merchant_id: Set(if role == Role::Support {
            None
        } else {
            merchant_id
        }),
        created_at: Set(entity::now()),
    }
    .insert(db)
    .await
    .map_err(|e| conflict_on_unique(e, "An account with this e-mail already exists."))
}

/// Checks e-mail and password, counting failures; too many failures for the
/// e-mail or the client address answer `RateLimited` without checking.
pub async fn authenticate<C: ConnectionTrait>(
    db: &C,
    email: &str,
    password: &str,
    ip: Option<String>,
) -> AppResult<user::Model> {
    let email = email.trim().to_lowercase();
    let since = entity::now() - LOCKOUT_WINDOW;
    let by_email = login_attempt::Entity::find()
        .filter(login_attempt::Column::Email.eq(email.clone()))
        .filter(login_attempt::Column::AttemptedAt.gt(since))
        .count(db)
        .await?;
    let by_ip = match &ip {
        Some(ip) => {
            login_attempt::Entity::find()
                .filter(login_attempt::Column::Ip.eq(ip.clone()))
                .filter(login_attempt::Column::AttemptedAt.gt(since))
                .count(db)
                .await?
        }
        None => 0,
    };
    if by_email >= MAX_FAILURES_PER_EMAIL || by_ip >= MAX_FAILURES_PER_IP {
        return Err(AppError::RateLimited(format!(
            "Too many failed sign-ins. Wait {} minutes and try again.",
            LOCKOUT_WINDOW.whole_minutes()
        )));
    }

    let found = user::Entity::find_by_email(db, &email).await?;
    let ok = password::verify(
        password.to_string(),
        found.as_ref().map(|u| u.password_hash.clone()),
    )
    .await;
    match found {
        Some(user) if ok => {
            login_attempt::Entity::delete_many()
                .filter(login_attempt::Column::Email.eq(email))
                .exec(db)
                .await?;
            Ok(user)
        }
        _ => {
            login_attempt::ActiveModel {
                email: Set(email),
                ip: Set(ip),
                attempted_at: Set(entity::now()),
                ..Default::default()
            }
            .insert(db)
            .await?;
            Err(AppError::Unauthorized(
                "The e-mail or password is incorrect.".into(),
            ))
        }
    }
}

/// Drops failure records older than the window (run periodically).
pub async fn purge_old_attempts<C: ConnectionTrait>(db: &C) -> AppResult<u64> {
    let res = login_attempt::Entity::delete_many()
        .filter(login_attempt::Column::AttemptedAt.lt(entity::now() - LOCKOUT_WINDOW))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// The signed-in user as the UI and API see them.
pub async fn me<C: ConnectionTrait>(db: &C, user_id: Uuid) -> AppResult<Option<Me>> {
    let Some(user) = user::Entity::find_by_id(user_id).one(db).await? else {
        return Ok(None);
    };
    let merchant = match user.merchant_id {
        Some(id) => merchant::Entity::find_by_id(id).one(db).await?,
        None => None,
    };
    Ok(Some(Me {
        user_id: user.id,
        email: user.email,
        role: parse_role(&user.role),
        merchant_id: user.merchant_id,
        merchant_name: merchant.map(|m| m.name),
    }))
}

/// The wire name of a role.
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => user::role::OWNER,
        Role::Support => user::role::SUPPORT,
    }
}

/// Reads a stored role; anything unknown is the least-privileged role.
pub fn parse_role(s: &str) -> Role {
    if s == user::role::SUPPORT {
        Role::Support
    } else {
        Role::Owner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            parse_email("  Ana@Example.COM ").unwrap(),
            "ana@example.com"
        );
        for bad in [
            "",
            "ana",
            "ana@",
            "@example.com",
            "ana@example",
            "a b@example.com",
            "ana@.com",
        ] {
            assert!(parse_email(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
