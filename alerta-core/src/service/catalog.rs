//! Departments and statistics.

use super::{Alerta, require_admin, require_staff};
use crate::domain::{
    BasicStats, Department, DepartmentName, IdempotencyKey, Incident, IncidentFilter, Page,
    PageRequest, StaffStats, User,
};
use crate::{ConflictKind, Error, Result};

impl Alerta {
    /// Every department (`GET /departments`); any role.
    pub async fn departments(&self, _actor: &User) -> Result<Vec<Department>> {
        self.inner.storage.departments.departments().await
    }

    /// Adds a department (`POST /departments`); admin only.
    pub async fn create_department(
        &self,
        actor: &User,
        department: Department,
        key: Option<&IdempotencyKey>,
    ) -> Result<Department> {
        require_admin(actor)?;
        let operation = format!("department.create:{}", department.name);
        self.idempotent(actor.id.as_str(), key, operation, async {
            self.add_department(department).await
        })
        .await
    }

    /// Adds a department without a role check: for configuration and the command line.
    pub async fn add_department(&self, department: Department) -> Result<Department> {
        self.inner
            .storage
            .departments
            .create_department(&department)
            .await
            .map_err(|e| match e {
                Error::Conflict { .. } => Error::conflict(
                    ConflictKind::Duplicate,
                    format!("a department called '{}' exists", department.name),
                ),
                other => other,
            })?;
        Ok(department)
    }

    /// Changes the contact address of a department (`PUT /departments/{nombre}`); admin only.
    pub async fn update_department(
        &self,
        actor: &User,
        department: Department,
    ) -> Result<Department> {
        require_admin(actor)?;
        self.inner
            .storage
            .departments
            .update_department(&department)
            .await?;
        Ok(department)
    }

    /// The incidents assigned to a department (`GET /departments/{nombre}/incidents`); staff
    /// and admin.
    pub async fn department_incidents(
        &self,
        actor: &User,
        name: &DepartmentName,
        page: &PageRequest,
    ) -> Result<Page<Incident>> {
        require_staff(actor)?;
        self.inner
            .storage
            .departments
            .department(name)
            .await?
            .ok_or(Error::NotFound("department"))?;
        let filter = IncidentFilter {
            department: Some(name.clone()),
            ..IncidentFilter::default()
        };
        self.inner.storage.incidents.incidents(&filter, page).await
    }

    /// `GET /stats`: total and by status; any role.
    pub async fn stats(&self, _actor: &User) -> Result<BasicStats> {
        let counts = self.inner.storage.incidents.counts().await?;
        Ok(BasicStats {
            total: counts.total,
            by_status: counts.by_status,
        })
    }

    /// `GET /staff/stats`: every count and the mean resolution time; staff and admin.
    pub async fn staff_stats(&self, actor: &User) -> Result<StaffStats> {
        require_staff(actor)?;
        Ok(self.inner.storage.incidents.counts().await?.into())
    }
}
