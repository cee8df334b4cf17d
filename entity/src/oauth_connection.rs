//! The OAuth tokens of a connected install, sealed with
//! [`crate::crypto::KeyRing`], and the lease that lets one process at a time
//! refresh them.
//!
//! `version` grows with every token write. A refresher takes the lease only
//! for the version it saw, so two processes that both noticed the same
//! expiring token refresh it once: the second finds the version moved on.
use sea_orm::entity::prelude::*;
use sea_orm::sea_query::{Expr, SimpleExpr};

/// One connection per install.
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "oauth_connections")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub install_id: Uuid,
    pub merchant_id: Uuid,
    /// Sealed access token.
    pub access_token: String,
    /// Sealed refresh token, when the provider issued one.
    pub refresh_token: Option<String>,
    pub token_type: String,
    /// Granted scopes, space separated.
    pub scopes: String,
    pub expires_at: Option<TimeDateTimeWithTimeZone>,
    pub connected_at: TimeDateTimeWithTimeZone,
    pub refreshed_at: Option<TimeDateTimeWithTimeZone>,
    pub version: i32,
    /// Refresh failures in a row that may pass (network, provider 5xx).
    pub failures: i32,
    pub last_error: Option<String>,
    /// No refresh is tried before this time (back-off after a failure).
    pub retry_after: Option<TimeDateTimeWithTimeZone>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<TimeDateTimeWithTimeZone>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthConnection")
            .field("install_id", &self.install_id)
            .field("expires_at", &self.expires_at)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Relations of a connection.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::install::Entity",
        from = "Column::InstallId",
        to = "super::install::Column::Id",
        on_delete = "Cascade"
    )]
    Install,
}

impl Related<super::install::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Install.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// Takes the refresh lease of `install_id` for `owner` until `until`, if
    /// the tokens are still at `version` and no live lease is held by
    /// another owner. Answers whether the lease was taken. One UPDATE, so
    /// the database decides between racing processes.
    pub async fn take_lease<C: ConnectionTrait>(
        db: &C,
        install_id: Uuid,
        version: i32,
        owner: &str,
        now: TimeDateTimeWithTimeZone,
        until: TimeDateTimeWithTimeZone,
    ) -> Result<bool, DbErr> {
        let free: SimpleExpr = Column::LeaseUntil
            .is_null()
            .or(Column::LeaseUntil.lt(now))
            .or(Column::LeaseOwner.eq(owner));
        let res = Self::update_many()
            .col_expr(Column::LeaseOwner, Expr::value(owner))
            .col_expr(Column::LeaseUntil, Expr::value(until))
            .filter(Column::InstallId.eq(install_id))
            .filter(Column::Version.eq(version))
            .filter(free)
            .exec(db)
            .await?;
        Ok(res.rows_affected == 1)
    }

    /// Gives the lease back (only `owner`'s own).
    pub async fn release_lease<C: ConnectionTrait>(
        db: &C,
        install_id: Uuid,
        owner: &str,
    ) -> Result<(), DbErr> {
        Self::update_many()
            .col_expr(Column::LeaseOwner, Expr::value(Option::<String>::None))
            .col_expr(
                Column::LeaseUntil,
                Expr::value(Option::<TimeDateTimeWithTimeZone>::None),
            )
            .filter(Column::InstallId.eq(install_id))
            .filter(Column::LeaseOwner.eq(owner))
            .exec(db)
            .await?;
        Ok(())
    }

    /// The connection of an install, only if it belongs to `merchant_id`.
    pub async fn find_for_merchant<C: ConnectionTrait>(
        db: &C,
        merchant_id: Uuid,
        install_id: Uuid,
    ) -> Result<Option<Model>, DbErr> {
        Self::find_by_id(install_id)
            .filter(Column::MerchantId.eq(merchant_id))
            .one(db)
            .await
    }
}
