//! A person who signs in: a merchant owner or a support agent.
use sea_orm::entity::prelude::*;

/// Role names stored in `users.role`.
pub mod role {
    /// Owner of one merchant account.
    pub const OWNER: &str = "owner";
    /// Plugboard support: reads across merchants, created by the CLI only.
    pub const SUPPORT: &str = "support";
}

/// One user. `password_hash` is an argon2 PHC string; the type is deliberately
/// not `Serialize` so it can never be sent anywhere by accident.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Lower-cased e-mail address, unique.
    #[sea_orm(unique)]
    pub email: String,
    pub password_hash: String,
    pub role: String,
    /// `None` for support agents, who belong to no merchant.
    pub merchant_id: Option<Uuid>,
    pub created_at: TimeDateTimeWithTimeZone,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("merchant_id", &self.merchant_id)
            .finish_non_exhaustive()
    }
}

/// Relations of a user.
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
    /// Finds a user by e-mail, case-insensitively.
    pub async fn find_by_email<C: ConnectionTrait>(
        db: &C,
        email: &str,
    ) -> Result<Option<Model>, DbErr> {
        Self::find()
            .filter(Column::Email.eq(email.trim().to_lowercase()))
            .one(db)
            .await
    }
}
