//! Listing and counting users with a search, a filter, a sort and a page (Better Auth's
//! `internalAdapter.listUsers` / `countTotalUsers` with `where` clauses, used by the admin
//! plugin's `list-users` and the operators' command line).

use sea_orm::sea_query::{Alias, Cond, Expr, Func, Order, Query, SimpleExpr, Value};
use sea_orm::ConnectionTrait;

use super::users::{table, write_field};
use super::{Store, StoreResult, User};
use crate::auth::fields::{parse_date, FieldType};

/// How a value is compared (Better Auth's `whereOperators`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    NotIn,
    Contains,
    StartsWith,
    EndsWith,
}

impl Operator {
    /// Better Auth's name of the operator (`eq`, `starts_with`, ...).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "eq" => Self::Eq,
            "ne" => Self::Ne,
            "lt" => Self::Lt,
            "lte" => Self::Lte,
            "gt" => Self::Gt,
            "gte" => Self::Gte,
            "in" => Self::In,
            "not_in" => Self::NotIn,
            "contains" => Self::Contains,
            "starts_with" => Self::StartsWith,
            "ends_with" => Self::EndsWith,
            _ => return None,
        })
    }
}

/// One condition on a user column.
#[derive(Debug, Clone)]
pub struct Where {
    pub field: String,
    pub operator: Operator,
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, Default)]
pub struct UserQuery {
    pub conditions: Vec<Where>,
    /// Column and whether descending.
    pub sort: Option<(String, bool)>,
    pub limit: Option<u64>,
    pub offset: Option<u64>,
}

/// Why a query cannot run: it names a column `user` does not have, or compares with a value of
/// the wrong kind. Better Auth's adapter fails such queries; callers decide what to answer.
#[derive(Debug, thiserror::Error)]
#[error("invalid user query")]
pub struct InvalidQuery;

impl Store {
    /// The type of a `user` column, `None` when there is no such column.
    fn user_column_type(&self, name: &str) -> Option<FieldType> {
        match name {
            "id" | "name" | "email" | "image" => Some(FieldType::String),
            "emailVerified" => Some(FieldType::Boolean),
            "createdAt" | "updatedAt" => Some(FieldType::Date),
            other => self.user_fields.get(other).map(|f| f.field_type),
        }
    }

    fn user_value(&self, ty: FieldType, v: &serde_json::Value) -> Result<Value, InvalidQuery> {
        use serde_json::Value as J;
        Ok(match (ty, v) {
            (FieldType::Date, J::String(s)) => self.ts(parse_date(s).ok_or(InvalidQuery)?),
            (FieldType::Boolean, J::Bool(_) | J::Null)
            | (FieldType::Number, J::Number(_) | J::Null)
            | (FieldType::String, J::String(_) | J::Null)
            | (FieldType::Json | FieldType::StringArray | FieldType::NumberArray, _) => {
                write_field(self.backend, ty, v)
            }
            // Query strings carry numbers and booleans as text.
            (FieldType::Boolean, J::String(s)) if s == "true" || s == "false" => {
                Value::Bool(Some(s == "true"))
            }
            (FieldType::Number, J::String(s)) => match s.parse::<i64>() {
                Ok(i) => i.into(),
                Err(_) => s.parse::<f64>().map_err(|_| InvalidQuery)?.into(),
            },
            (FieldType::String, J::Number(n)) => n.to_string().into(),
            (FieldType::String, J::Bool(b)) => b.to_string().into(),
            _ => return Err(InvalidQuery),
        })
    }

    fn user_condition(&self, w: &Where) -> Result<SimpleExpr, InvalidQuery> {
        let ty = self.user_column_type(&w.field).ok_or(InvalidQuery)?;
        let col = Expr::col((table(), Alias::new(&w.field)));
        let text = || match &w.value {
            serde_json::Value::String(s) => Ok(s.clone()),
            serde_json::Value::Number(n) => Ok(n.to_string()),
            _ => Err(InvalidQuery),
        };
        let list = || -> Result<Vec<Value>, InvalidQuery> {
            match &w.value {
                serde_json::Value::Array(items) => {
                    items.iter().map(|i| self.user_value(ty, i)).collect()
                }
                one => Ok(vec![self.user_value(ty, one)?]),
            }
        };
        Ok(match w.operator {
            Operator::Eq => col.eq(self.user_value(ty, &w.value)?),
            Operator::Ne => col.ne(self.user_value(ty, &w.value)?),
            Operator::Lt => col.lt(self.user_value(ty, &w.value)?),
            Operator::Lte => col.lte(self.user_value(ty, &w.value)?),
            Operator::Gt => col.gt(self.user_value(ty, &w.value)?),
            Operator::Gte => col.gte(self.user_value(ty, &w.value)?),
            Operator::In => col.is_in(list()?),
            Operator::NotIn => col.is_not_in(list()?),
            Operator::Contains => col.like(format!("%{}%", text()?)),
            Operator::StartsWith => col.like(format!("{}%", text()?)),
            Operator::EndsWith => col.like(format!("%{}", text()?)),
        })
    }

    fn user_conditions(&self, query: &UserQuery) -> Result<Cond, InvalidQuery> {
        let mut cond = Cond::all();
        for w in &query.conditions {
            cond = cond.add(self.user_condition(w)?);
        }
        Ok(cond)
    }

    /// The users `query` selects, in its order and page, and how many it selects in all.
    pub async fn list_users(
        &self,
        query: &UserQuery,
    ) -> StoreResult<Result<(Vec<User>, u64), InvalidQuery>> {
        let cond = match self.user_conditions(query) {
            Ok(c) => c,
            Err(e) => return Ok(Err(e)),
        };
        let mut q = self.user_select();
        q.cond_where(cond.clone());
        if let Some((field, desc)) = &query.sort {
            if self.user_column_type(field).is_none() {
                return Ok(Err(InvalidQuery));
            }
            let order = if *desc { Order::Desc } else { Order::Asc };
            q.order_by((table(), Alias::new(field)), order);
        }
        if let Some(limit) = query.limit {
            q.limit(limit);
        }
        if let Some(offset) = query.offset {
            if query.limit.is_none() && self.backend != sea_orm::DatabaseBackend::Postgres {
                // SQLite and MySQL need a LIMIT before an OFFSET.
                q.limit(u64::MAX >> 1);
            }
            q.offset(offset);
        }
        let rows = self.db.query_all(self.stmt(&q)).await?;
        let users = rows
            .iter()
            .map(|r| self.user_from_row(r))
            .collect::<Result<Vec<_>, _>>()?;
        let count = Query::select()
            .expr_as(
                Func::count(Expr::col((table(), Alias::new("id")))),
                Alias::new("n"),
            )
            .from(table())
            .cond_where(cond)
            .to_owned();
        let total = match self.db.query_one(self.stmt(&count)).await? {
            Some(row) => row
                .try_get::<i64>("", "n")
                .or_else(|_| row.try_get::<i32>("", "n").map(i64::from))?,
            None => 0,
        };
        Ok(Ok((users, u64::try_from(total).unwrap_or(0))))
    }
}
