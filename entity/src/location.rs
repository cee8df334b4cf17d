//! A merchant's location (outlet, store): the scope integrations install into.
use sea_orm::entity::prelude::*;
use sea_orm::QueryOrder;

/// One location of one merchant.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "locations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub merchant_id: Uuid,
    pub name: String,
    pub city: String,
    /// IANA time-zone name, e.g. `Asia/Jakarta`.
    pub timezone: String,
    pub created_at: TimeDateTimeWithTimeZone,
    pub updated_at: TimeDateTimeWithTimeZone,
}

/// Relations of a location.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::merchant::Entity",
        from = "Column::MerchantId",
        to = "super::merchant::Column::Id",
        on_delete = "Cascade"
    )]
    Merchant,
    #[sea_orm(has_many = "super::location_external_id::Entity")]
    ExternalId,
}

impl Related<super::merchant::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Merchant.def()
    }
}

impl Related<super::location_external_id::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ExternalId.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl Entity {
    /// All locations of one merchant, by name.
    pub async fn list_for_merchant<C: ConnectionTrait>(
        db: &C,
        merchant_id: Uuid,
    ) -> Result<Vec<Model>, DbErr> {
        Self::find()
            .filter(Column::MerchantId.eq(merchant_id))
            .order_by_asc(Column::Name)
            .all(db)
            .await
    }

    /// One location, only if it belongs to `merchant_id`.
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
