//! Checks of [`UserStore`](crate::ports::UserStore) and
//! [`DepartmentStore`](crate::ports::DepartmentStore).

use super::Fixtures;
use crate::domain::{
    AccessChange, Department, DepartmentName, Email, PageRequest, PasswordHash, PersonName, Role,
    SearchText, Session, SessionToken, User, UserFilter, UserId, UserRecord,
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
        disabled: false,
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

fn account(f: &Fixtures, email: &str, name: &str, role: Role) -> UserRecord {
    let mut record = record(f, email, role);
    record.user.name = PersonName::parse(name).expect("name");
    record
}

fn is_last_admin<T: std::fmt::Debug>(result: &crate::Result<T>) -> bool {
    matches!(
        result,
        Err(Error::Conflict {
            kind: ConflictKind::LastAdmin,
            ..
        })
    )
}

async fn active_admins(store: &Storage) -> Vec<String> {
    let mut emails = Vec::new();
    let mut page = PageRequest::first(500).expect("limit");
    loop {
        let listed = store
            .users
            .users(&UserFilter::default(), &page)
            .await
            .expect("list");
        emails.extend(
            listed
                .items
                .iter()
                .filter(|r| r.is_active_admin())
                .map(|r| r.user.email.as_str().to_owned()),
        );
        match listed.next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return emails,
        }
    }
}

pub(super) async fn listing_users(store: &Storage) {
    let f = Fixtures::new();
    let people = [
        ("eva@campus.edu", "Eva Núñez", Role::Student),
        ("bo@campus.edu", "Bo Pérez", Role::Staff),
        ("cy@campus.edu", "Cy Ramos", Role::Admin),
        ("ana@campus.edu", "Ana PÉREZ", Role::Student),
        ("dan@campus.edu", "Dan Ruiz", Role::Student),
        ("fe@otra.edu", "Fe Gil", Role::Staff),
        ("gus@campus.edu", "Gus Díaz", Role::Student),
    ];
    for (email, name, role) in people {
        store
            .users
            .create_user(&account(&f, email, name, role))
            .await
            .expect("create");
    }
    let everyone = |filter: UserFilter| async move {
        let mut seen = Vec::new();
        let mut page = PageRequest::first(2).expect("limit");
        loop {
            let listed = store.users.users(&filter, &page).await.expect("list");
            assert!(listed.items.len() <= 2, "a page holds at most its limit");
            seen.extend(
                listed
                    .items
                    .iter()
                    .map(|r| r.user.email.as_str().to_owned()),
            );
            match listed.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return seen,
            }
        }
    };
    let mut all: Vec<String> = people.iter().map(|p| p.0.to_owned()).collect();
    all.sort();
    assert_eq!(
        everyone(UserFilter::default()).await,
        all,
        "every user once, by email"
    );
    assert_eq!(
        everyone(UserFilter {
            role: Some(Role::Staff),
            ..UserFilter::default()
        })
        .await,
        ["bo@campus.edu", "fe@otra.edu"]
    );
    assert_eq!(
        everyone(UserFilter {
            text: Some(SearchText::parse("pérez").expect("q")),
            ..UserFilter::default()
        })
        .await,
        ["ana@campus.edu", "bo@campus.edu"],
        "the name, ignoring case beyond ASCII"
    );
    assert_eq!(
        everyone(UserFilter {
            text: Some(SearchText::parse("OTRA").expect("q")),
            role: Some(Role::Staff),
        })
        .await,
        ["fe@otra.edu"],
        "the email, with the role"
    );
    assert!(
        everyone(UserFilter {
            text: Some(SearchText::parse("pérez").expect("q")),
            role: Some(Role::Admin),
        })
        .await
        .is_empty()
    );
    assert_eq!(
        everyone(UserFilter {
            text: Some(SearchText::parse("ÚÑE").expect("q")),
            ..UserFilter::default()
        })
        .await,
        ["eva@campus.edu"],
        "inside the name, not only at its start"
    );
    assert_eq!(
        everyone(UserFilter {
            text: Some(SearchText::parse("@CAMPUS").expect("q")),
            ..UserFilter::default()
        })
        .await
        .len(),
        6,
        "inside the email, not only at its start"
    );
    let gus = store
        .users
        .user_by_email(&Email::parse("gus@campus.edu").expect("email"))
        .await
        .expect("read")
        .expect("stored");
    store
        .users
        .change_access(&gus.user.id, AccessChange::Role(Role::Staff))
        .await
        .expect("change");
    store
        .users
        .change_access(&gus.user.id, AccessChange::Disabled(true))
        .await
        .expect("change");
    assert_eq!(
        everyone(UserFilter {
            role: Some(Role::Staff),
            ..UserFilter::default()
        })
        .await,
        ["bo@campus.edu", "fe@otra.edu", "gus@campus.edu"],
        "lists follow access changes, disabled accounts included"
    );
}

pub(super) async fn access_changes(store: &Storage) {
    let f = Fixtures::new();
    assert!(
        !store.users.active_admin_exists().await.expect("exists"),
        "an empty store has no admin"
    );
    let student = record(&f, "ana@campus.edu", Role::Student);
    let first = record(&f, "root@campus.edu", Role::Admin);
    let second = record(&f, "jefa@campus.edu", Role::Admin);
    for r in [&student, &first, &second] {
        store.users.create_user(r).await.expect("create");
    }
    assert!(store.users.active_admin_exists().await.expect("exists"));
    let nobody = UserId::parse("nobody").expect("id");
    assert!(matches!(
        store
            .users
            .change_access(&nobody, AccessChange::Role(Role::Staff))
            .await,
        Err(Error::NotFound(_))
    ));
    let staff = store
        .users
        .change_access(&student.user.id, AccessChange::Role(Role::Staff))
        .await
        .expect("promote");
    assert_eq!(staff.user.role, Role::Staff);
    assert_eq!(
        staff.password_hash, student.password_hash,
        "only the role changes"
    );
    let off = store
        .users
        .change_access(&student.user.id, AccessChange::Disabled(true))
        .await
        .expect("disable");
    assert!(off.disabled);
    assert_eq!(
        store.users.user_by_id(&student.user.id).await.expect("get"),
        Some(off.clone()),
        "read back disabled"
    );
    assert_eq!(
        store
            .users
            .user_by_email(&student.user.email)
            .await
            .expect("get")
            .map(|r| r.disabled),
        Some(true)
    );
    // A disabled admin does not count: disabling the second leaves the first the last one.
    store
        .users
        .change_access(&second.user.id, AccessChange::Disabled(true))
        .await
        .expect("disable an admin while another remains");
    for change in [
        AccessChange::Role(Role::Staff),
        AccessChange::Disabled(true),
    ] {
        let refused = store.users.change_access(&first.user.id, change).await;
        assert!(
            is_last_admin(&refused),
            "{change:?} of the last admin: {refused:?}"
        );
    }
    assert_eq!(
        store.users.user_by_id(&first.user.id).await.expect("get"),
        Some(first.clone()),
        "nothing changed"
    );
    let again = store
        .users
        .change_access(&first.user.id, AccessChange::Role(Role::Admin))
        .await
        .expect("a change that keeps the admin is fine");
    assert_eq!(again, first);
    store
        .users
        .change_access(&second.user.id, AccessChange::Disabled(false))
        .await
        .expect("enable");
    store
        .users
        .change_access(&first.user.id, AccessChange::Role(Role::Student))
        .await
        .expect("demote one of two");
    assert_eq!(active_admins(store).await, ["jefa@campus.edu"]);
    assert!(store.users.active_admin_exists().await.expect("exists"));
    store
        .users
        .change_access(&first.user.id, AccessChange::Role(Role::Admin))
        .await
        .expect("promote");
    store
        .users
        .change_access(&first.user.id, AccessChange::Disabled(true))
        .await
        .expect("disable");
    assert!(store.users.active_admin_exists().await.expect("exists"));
}

pub(super) async fn two_admins_demoting_each_other_leave_one(store: &Storage) {
    let f = Fixtures::new();
    let a = record(&f, "a@campus.edu", Role::Admin);
    let b = record(&f, "b@campus.edu", Role::Admin);
    for r in [&a, &b] {
        store.users.create_user(r).await.expect("create");
    }
    for round in 0..5 {
        let change = if round % 2 == 0 {
            AccessChange::Role(Role::Staff)
        } else {
            AccessChange::Disabled(true)
        };
        let (left, right) = futures::join!(
            store.users.change_access(&a.user.id, change),
            store.users.change_access(&b.user.id, change),
        );
        assert_eq!(
            usize::from(left.is_ok()) + usize::from(right.is_ok()),
            1,
            "round {round}: exactly one wins: {left:?} {right:?}"
        );
        assert!(is_last_admin(&left) || is_last_admin(&right));
        assert_eq!(active_admins(store).await.len(), 1, "round {round}");
        for r in [&a, &b] {
            store
                .users
                .change_access(&r.user.id, AccessChange::Role(Role::Admin))
                .await
                .expect("restore");
            store
                .users
                .change_access(&r.user.id, AccessChange::Disabled(false))
                .await
                .expect("restore");
        }
    }
}

pub(super) async fn many_concurrent_demotions_leave_one_admin(store: &Storage) {
    let f = Fixtures::new();
    let admins: Vec<UserRecord> = (0..8)
        .map(|n| record(&f, &format!("admin{n}@campus.edu"), Role::Admin))
        .collect();
    for r in &admins {
        store.users.create_user(r).await.expect("create");
    }
    let changes = admins.iter().enumerate().map(|(n, r)| {
        let change = if n % 2 == 0 {
            AccessChange::Role(Role::Student)
        } else {
            AccessChange::Disabled(true)
        };
        store.users.change_access(&r.user.id, change)
    });
    let results = futures::future::join_all(changes).await;
    for result in &results {
        assert!(
            result.is_ok() || is_last_admin(result),
            "only the last-admin rule may refuse: {result:?}"
        );
    }
    let left = active_admins(store).await;
    assert_eq!(
        left.len(),
        1,
        "exactly one admin can still log in: {left:?}"
    );
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        admins.len() - 1
    );
}

pub(super) async fn passwords_and_sessions_of_a_user(store: &Storage) {
    let f = Fixtures::new();
    let ana = record(&f, "ana@campus.edu", Role::Student);
    let bo = record(&f, "bo@campus.edu", Role::Student);
    for r in [&ana, &bo] {
        store.users.create_user(r).await.expect("create");
    }
    let new_hash =
        PasswordHash::from_phc("$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA".into());
    store
        .users
        .set_password_hash(&ana.user.id, &new_hash)
        .await
        .expect("set");
    let stored = store
        .users
        .user_by_id(&ana.user.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(stored.password_hash, new_hash);
    assert_eq!(stored.user, ana.user, "only the hash changes");
    assert_eq!(
        store.users.user_by_id(&bo.user.id).await.expect("get"),
        Some(bo.clone()),
        "another user keeps theirs"
    );
    assert!(matches!(
        store
            .users
            .set_password_hash(&UserId::parse("nobody").expect("id"), &new_hash)
            .await,
        Err(Error::NotFound(_))
    ));
    let now = f.tick();
    let session = |user: &UserRecord| Session {
        token_hash: SessionToken::generate().hash(),
        user_id: user.user.id.clone(),
        created_at: now,
        expires_at: now.plus(std::time::Duration::from_secs(3600)),
    };
    let (kept, gone1, gone2, other) = (session(&ana), session(&ana), session(&ana), session(&bo));
    for s in [&kept, &gone1, &gone2, &other] {
        store.users.create_session(s).await.expect("session");
    }
    let removed = store
        .users
        .delete_sessions_of(&ana.user.id, Some(kept.token_hash.clone()))
        .await
        .expect("delete");
    assert_eq!(removed, 2);
    for (s, there) in [
        (&kept, true),
        (&gone1, false),
        (&gone2, false),
        (&other, true),
    ] {
        assert_eq!(
            store
                .users
                .session(&s.token_hash)
                .await
                .expect("get")
                .is_some(),
            there
        );
    }
    assert_eq!(
        store
            .users
            .delete_sessions_of(&ana.user.id, None)
            .await
            .expect("delete"),
        1
    );
    assert_eq!(
        store.users.session(&kept.token_hash).await.expect("get"),
        None
    );
}

pub(super) async fn editing_a_department(store: &Storage) {
    let ti = Department {
        name: DepartmentName::parse("TI").expect("name"),
        email: Email::parse("ti@campus.edu").expect("email"),
    };
    store
        .departments
        .create_department(&ti)
        .await
        .expect("create");
    let edited = Department {
        email: Email::parse("soporte@campus.edu").expect("email"),
        ..ti.clone()
    };
    store
        .departments
        .update_department(&edited)
        .await
        .expect("update");
    assert_eq!(
        store.departments.department(&ti.name).await.expect("get"),
        Some(edited)
    );
    let missing = Department {
        name: DepartmentName::parse("Cafetería").expect("name"),
        email: Email::parse("cafe@campus.edu").expect("email"),
    };
    assert!(matches!(
        store.departments.update_department(&missing).await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(
        store
            .departments
            .department(&missing.name)
            .await
            .expect("get"),
        None,
        "an edit makes nothing"
    );
}
