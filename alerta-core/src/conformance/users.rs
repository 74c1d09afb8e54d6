//! Checks of [`UserStore`](crate::ports::UserStore) and
//! [`DepartmentStore`](crate::ports::DepartmentStore).

use super::Fixtures;
use crate::domain::{
    Department, DepartmentName, Email, PasswordHash, PersonName, Role, Session, SessionToken, User,
    UserId, UserRecord,
};
use crate::ports::Storage;
use crate::{ConflictKind, Error};

fn record(f: &Fixtures, email: &str, role: Role) -> UserRecord {
    UserRecord {
        user: User {
            id: f.user(),
            email: Email::parse(email).expect("email"),
            name: PersonName::parse("Ana Pérez").expect("name"),
            role,
            created_at: f.tick(),
        },
        password_hash: PasswordHash::from_phc(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g".into(),
        ),
    }
}

pub(super) async fn users_round_trip(store: &Storage) {
    let f = Fixtures::new();
    for (email, role) in [
        ("ana@campus.edu", Role::Student),
        ("bo@campus.edu", Role::Staff),
        ("cy@campus.edu", Role::Admin),
    ] {
        let record = record(&f, email, role);
        store.users.create_user(&record).await.expect("create");
        assert_eq!(
            store
                .users
                .user_by_email(&record.user.email)
                .await
                .expect("by email"),
            Some(record.clone())
        );
        assert_eq!(
            store
                .users
                .user_by_id(&record.user.id)
                .await
                .expect("by id"),
            Some(record.clone())
        );
    }
    let taken = record(&f, "ANA@campus.edu", Role::Admin);
    match store.users.create_user(&taken).await {
        Err(Error::Conflict {
            kind: ConflictKind::Duplicate,
            ..
        }) => {}
        other => panic!("a taken email must be a duplicate conflict, got {other:?}"),
    }
    assert_eq!(
        store.users.user_by_id(&taken.user.id).await.expect("by id"),
        None,
        "nothing stored"
    );
    let nobody = Email::parse("nobody@campus.edu").expect("email");
    assert_eq!(
        store.users.user_by_email(&nobody).await.expect("by email"),
        None
    );
    assert_eq!(
        store
            .users
            .user_by_id(&UserId::parse("nobody").expect("id"))
            .await
            .expect("by id"),
        None
    );
}

pub(super) async fn sessions(store: &Storage) {
    let f = Fixtures::new();
    let user = f.user();
    let now = f.tick();
    let live = Session {
        token_hash: SessionToken::generate().hash(),
        user_id: user.clone(),
        created_at: now,
        expires_at: now.plus(std::time::Duration::from_secs(3600)),
    };
    let old = Session {
        token_hash: SessionToken::generate().hash(),
        user_id: user,
        created_at: now,
        expires_at: now.plus(std::time::Duration::from_secs(1)),
    };
    store.users.create_session(&live).await.expect("create");
    store.users.create_session(&old).await.expect("create");
    assert_eq!(
        store.users.session(&live.token_hash).await.expect("get"),
        Some(live.clone())
    );
    let removed = store
        .users
        .delete_expired_sessions(now.plus(std::time::Duration::from_secs(10)))
        .await
        .expect("expire");
    assert_eq!(removed, 1);
    assert_eq!(
        store.users.session(&old.token_hash).await.expect("get"),
        None
    );
    store
        .users
        .delete_session(&live.token_hash)
        .await
        .expect("delete");
    assert_eq!(
        store.users.session(&live.token_hash).await.expect("get"),
        None,
        "gone at once"
    );
    store
        .users
        .delete_session(&live.token_hash)
        .await
        .expect("deleting twice is fine");
}

pub(super) async fn departments(store: &Storage) {
    let names = ["TI", "Mantenimiento", "Enfermería", "Seguridad Campus"];
    for name in names {
        let department = Department {
            name: DepartmentName::parse(name).expect("name"),
            email: Email::parse(&format!("{}@campus.edu", name.len())).expect("email"),
        };
        store
            .departments
            .create_department(&department)
            .await
            .expect("create");
        assert_eq!(
            store
                .departments
                .department(&department.name)
                .await
                .expect("get"),
            Some(department)
        );
    }
    let again = Department {
        name: DepartmentName::parse("TI").expect("name"),
        email: Email::parse("otro@campus.edu").expect("email"),
    };
    match store.departments.create_department(&again).await {
        Err(Error::Conflict {
            kind: ConflictKind::Duplicate,
            ..
        }) => {}
        other => panic!("a taken name must be a duplicate conflict, got {other:?}"),
    }
    let listed: Vec<String> = store
        .departments
        .departments()
        .await
        .expect("list")
        .into_iter()
        .map(|d| d.name.as_str().to_owned())
        .collect();
    let mut sorted: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    sorted.sort();
    assert_eq!(listed, sorted, "every department, by name");
    let ti = store
        .departments
        .department(&again.name)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(ti.email.as_str(), "2@campus.edu", "the first one stays");
}
