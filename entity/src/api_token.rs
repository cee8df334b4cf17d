//! Merchant API tokens for machine clients (`Authorization: Bearer …`).
use sea_orm::entity::prelude::*;
use sea_orm::QueryOrder;

/// One API token. Only the SHA-256 of the token is stored; `prefix` is the
/// first characters of the token, kept so people can tell tokens apart.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub created_by: Option<Uuid>,
    pub name: String,
    pub prefix: String,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub created_at: TimeDateTimeWithTimeZone,
    pub last_used_at: Option<TimeDateTimeWithTimeZone>,
    pub revoked_at: Option<TimeDateTimeWithTimeZone>,
}

/// Relations of a token.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::merchant::Entity",
        from = "Column::MerchantId",
        to = "super::merchant::Column::Id",
        on_delete = "Cascade"
    )]
    Merchant,
}

impl Related<super::merchant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Merchant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// Tokens of one merchant, newest first.
    pub async fn list_for_merchant<C: ConnectionTrait>(
        db: &C,
        merchant_id: Uuid,
    ) -> Result<Vec<Model>, DbErr> {
        Self::find()
            .filter(Column::MerchantId.eq(merchant_id))
            .order_by_desc(Column::CreatedAt)
            .all(db)
            .await
    }
}
