//! An integration installed by a merchant, for every location or for one.
use sea_orm::entity::prelude::*;
use sea_orm::QueryOrder;

/// `scope` of an install for every location.
pub const SCOPE_ALL: &str = "all";

/// Values of `auth_status`.
pub mod auth_status {
    /// The auth shape needs no connection (platform_shared, merchant_key).
    pub const NOT_REQUIRED: &str = "not_required";
    /// OAuth: not connected yet.
    pub const NOT_CONNECTED: &str = "not_connected";
    /// OAuth: connected, tokens stored.
    pub const CONNECTED: &str = "connected";
    /// OAuth: refresh failed; the merchant must reconnect.
    pub const NEEDS_RECONNECT: &str = "needs_reconnect";
}

/// One install. `config` holds the non-secret settings; `secrets` the
/// secret ones, sealed with [`crate::crypto::KeyRing`].
#[derive(Clone, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "installs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub integration_slug: String,
    /// `None`: every location of the merchant.
    pub location_id: Option<Uuid>,
    /// [`SCOPE_ALL`] or the location id as text; unique per merchant and
    /// integration.
    pub scope: String,
    pub enabled: bool,
    pub config: Json,
    pub secrets: Option<String>,
    pub auth_status: String,
    pub created_by: Option<Uuid>,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Install")
            .field("id", &self.id)
            .field("merchant_id", &self.merchant_id)
            .field("integration_slug", &self.integration_slug)
            .field("location_id", &self.location_id)
            .field("enabled", &self.enabled)
            .finish_non_exhaustive()
    }
}

/// Relations of an install.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::merchant::Entity",
        from = "Column::MerchantId",
        to = "super::merchant::Column::Id",
        on_delete = "Cascade"
    )]
    Merchant,
    #[sea_orm(has_many = "super::install_slot::Entity")]
    Slot,
}

impl Related<super::install_slot::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Slot.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// The merchant's installs, oldest first.
    pub async fn list_for_merchant<C: ConnectionTrait>(
        db: &C,
        merchant_id: Uuid,
    ) -> Result<Vec<Model>, DbErr> {
        Self::find()
            .filter(Column::MerchantId.eq(merchant_id))
            .order_by_asc(Column::CreatedAt)
            .all(db)
            .await
    }

    /// One install, only if it belongs to `merchant_id`.
    pub async fn find_for_merchant<C: ConnectionTrait>(
        db: &C,
        merchant_id: Uuid,
        id: Uuid,
    ) -> Result<Option<Model>, DbErr> {
        Self::find_by_id(id)
            .filter(Column::MerchantId.eq(merchant_id))
            .one(db)
            .await
    }
}
