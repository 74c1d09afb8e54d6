//! Account use cases with a mocked user store: who may do what, input refused before any
//! store call, store errors handed on unchanged, and the last-admin rule left to the store.
//!
//! A mock with no expectation set fails the test when it is called, so a test that sets none
//! on a store shows that the store is never reached.

use mockall::predicate::eq;

use super::{Mocks, unavailable, user};
use crate::domain::{
    AccessChange, Account, Department, DepartmentName, Email, NewUser, Page, PageRequest, Password,
    PasswordHash, PersonName, Role, SearchText, SessionToken, Timestamp, User, UserFilter, UserId,
    UserRecord,
};
use crate::ports::{FailureWindow, LoginKey};
use crate::{ConflictKind, Error};

const ROLES: [Role; 3] = [Role::Student, Role::Staff, Role::Admin];

fn someone(id: &str, role: Role) -> User {
    User {
        id: UserId::parse(id).unwrap(),
        email: Email::parse(&format!("{}@campus.edu", id.to_lowercase())).unwrap(),
        name: PersonName::parse("Alguien").unwrap(),
        role,
        created_at: Timestamp::from_unix_millis(0),
    }
}

fn record(user: User, hash: PasswordHash, disabled: bool) -> UserRecord {
    UserRecord {
        user,
        password_hash: hash,
        disabled,
    }
}

fn any_hash() -> PasswordHash {
    Password::parse("una-clave-larga").unwrap().hash()
}

fn new_user(role: Role) -> NewUser {
    NewUser::parse("nueva@campus.edu", "clave-nueva-1", "Nueva Persona", role).unwrap()
}

fn department() -> Department {
    Department {
        name: DepartmentName::parse("Mantenimiento").unwrap(),
        email: Email::parse("mantenimiento@campus.edu").unwrap(),
    }
}

fn forbidden<T: std::fmt::Debug>(result: Result<T, Error>) {
    assert!(
        matches!(result, Err(Error::Forbidden(_))),
        "refused as forbidden: {result:?}"
    );
}

fn conflict<T: std::fmt::Debug>(result: Result<T, Error>) -> ConflictKind {
    match result {
        Err(Error::Conflict { kind, .. }) => kind,
        other => panic!("a conflict, not {other:?}"),
    }
}

fn is_unavailable<T: std::fmt::Debug>(result: Result<T, Error>) {
    assert!(
        matches!(result, Err(Error::Unavailable { .. })),
        "the store's failure, unchanged: {result:?}"
    );
}

#[tokio::test]
async fn only_admins_list_change_disable_enable_and_create_users() {
    for role in [Role::Student, Role::Staff] {
        let app = Mocks::default().build();
        let actor = user(role);
        let target = UserId::parse("U2").unwrap();
        forbidden(
            app.list_users(&actor, &UserFilter::default(), &PageRequest::default())
                .await,
        );
        forbidden(app.change_role(&actor, &target, Role::Admin).await);
        forbidden(app.change_role(&actor, &actor.id, Role::Admin).await);
        forbidden(app.disable_user(&actor, &target).await);
        forbidden(app.enable_user(&actor, &target).await);
        forbidden(app.create_user(&actor, new_user(Role::Admin), None).await);
        forbidden(app.create_department(&actor, department(), None).await);
        forbidden(app.update_department(&actor, department()).await);
    }
}

#[tokio::test]
async fn an_admin_lists_and_searches_with_the_filter_and_page_given() {
    let mut mocks = Mocks::default();
    let filter = UserFilter {
        text: Some(SearchText::parse("ana").unwrap()),
        role: Some(Role::Staff),
    };
    let page = PageRequest::first(2).unwrap();
    let ana = someone("U2", Role::Staff);
    let stored = vec![record(ana.clone(), any_hash(), true)];
    mocks
        .users
        .expect_users()
        .with(eq(filter.clone()), eq(page.clone()))
        .times(1)
        .return_once(move |_, _| {
            Ok(Page {
                items: stored,
                next_cursor: None,
            })
        });
    let app = mocks.build();
    let listed = app
        .list_users(&user(Role::Admin), &filter, &page)
        .await
        .unwrap();
    assert_eq!(
        listed.items,
        vec![Account {
            user: ana,
            disabled: true
        }],
        "accounts say whether they are disabled, and never carry the password hash"
    );
}

#[tokio::test]
async fn listing_hands_on_a_failing_store() {
    let mut mocks = Mocks::default();
    mocks
        .users
        .expect_users()
        .times(1)
        .returning(|_, _| Err(unavailable()));
    let result = mocks
        .build()
        .list_users(
            &user(Role::Admin),
            &UserFilter::default(),
            &PageRequest::default(),
        )
        .await;
    is_unavailable(result);
}

#[tokio::test]
async fn a_role_change_goes_to_the_store_as_asked() {
    let mut mocks = Mocks::default();
    let target = someone("U2", Role::Student);
    let changed = record(
        User {
            role: Role::Staff,
            ..target.clone()
        },
        any_hash(),
        false,
    );
    mocks
        .users
        .expect_change_access()
        .with(eq(target.id.clone()), eq(AccessChange::Role(Role::Staff)))
        .times(1)
        .return_once(move |_, _| Ok(changed));
    let account = mocks
        .build()
        .change_role(&user(Role::Admin), &target.id, Role::Staff)
        .await
        .unwrap();
    assert_eq!(account.user.role, Role::Staff);
    assert!(!account.disabled);
}

/// The use cases promise one rule about admins: the last admin who can log in stays one. An
/// admin demoting or disabling themselves is no exception of its own: the store allows it
/// while another admin remains, and refuses it (as any other change) when they are the last.
#[tokio::test]
async fn an_admin_may_demote_or_disable_themselves_unless_they_are_the_last_admin() {
    let admin = user(Role::Admin);
    let mut mocks = Mocks::default();
    let mut answers = vec![Err(Error::last_admin()), Err(Error::last_admin())];
    mocks
        .users
        .expect_change_access()
        .withf({
            let id = admin.id.clone();
            move |target, _| *target == id
        })
        .times(2)
        .returning(move |_, _| answers.pop().unwrap());
    let app = mocks.build();
    assert_eq!(
        conflict(app.change_role(&admin, &admin.id, Role::Staff).await),
        ConflictKind::LastAdmin
    );
    assert_eq!(
        conflict(app.disable_user(&admin, &admin.id).await),
        ConflictKind::LastAdmin,
        "a refused disable ends no session"
    );

    let mut mocks = Mocks::default();
    let demoted = record(
        User {
            role: Role::Staff,
            ..admin.clone()
        },
        any_hash(),
        false,
    );
    mocks
        .users
        .expect_change_access()
        .with(eq(admin.id.clone()), eq(AccessChange::Role(Role::Staff)))
        .times(1)
        .return_once(move |_, _| Ok(demoted));
    let account = mocks
        .build()
        .change_role(&admin, &admin.id, Role::Staff)
        .await
        .unwrap();
    assert_eq!(
        account.user.role,
        Role::Staff,
        "another admin remains, so it is allowed"
    );
}

#[tokio::test]
async fn disabling_ends_every_session_of_the_user() {
    let mut mocks = Mocks::default();
    let target = someone("U2", Role::Staff);
    let disabled = record(target.clone(), any_hash(), true);
    let mut order = mockall::Sequence::new();
    mocks
        .users
        .expect_change_access()
        .with(eq(target.id.clone()), eq(AccessChange::Disabled(true)))
        .times(1)
        .in_sequence(&mut order)
        .return_once(move |_, _| Ok(disabled));
    mocks
        .users
        .expect_delete_sessions_of()
        .with(eq(target.id.clone()), eq(None))
        .times(1)
        .in_sequence(&mut order)
        .returning(|_, _| Ok(3));
    let account = mocks
        .build()
        .disable_user(&user(Role::Admin), &target.id)
        .await
        .unwrap();
    assert!(account.disabled);
}

#[tokio::test]
async fn store_errors_of_access_changes_are_handed_on() {
    let target = UserId::parse("U2").unwrap();
    let admin = user(Role::Admin);

    let mut mocks = Mocks::default();
    mocks
        .users
        .expect_change_access()
        .times(3)
        .returning(|_, _| Err(Error::NotFound("user")));
    let app = mocks.build();
    for result in [
        app.change_role(&admin, &target, Role::Staff).await,
        app.disable_user(&admin, &target).await,
        app.enable_user(&admin, &target).await,
    ] {
        assert!(matches!(result, Err(Error::NotFound("user"))), "{result:?}");
    }

    let mut mocks = Mocks::default();
    mocks
        .users
        .expect_change_access()
        .times(1)
        .returning(|_, _| Err(unavailable()));
    is_unavailable(mocks.build().enable_user(&admin, &target).await);

    // Disabled, but the sessions could not be ended: the admin is told, so they can retry.
    let mut mocks = Mocks::default();
    let disabled = record(someone("U2", Role::Staff), any_hash(), true);
    mocks
        .users
        .expect_change_access()
        .times(1)
        .return_once(move |_, _| Ok(disabled));
    mocks
        .users
        .expect_delete_sessions_of()
        .times(1)
        .returning(|_, _| Err(unavailable()));
    is_unavailable(mocks.build().disable_user(&admin, &target).await);
}

#[tokio::test]
async fn an_admin_creates_an_account_of_any_role_and_a_taken_email_is_a_duplicate() {
    for role in ROLES {
        let mut mocks = Mocks::default();
        mocks
            .users
            .expect_create_user()
            .withf(move |record| {
                record.user.role == role
                    && record.user.email.as_str() == "nueva@campus.edu"
                    && !record.disabled
                    && record.password_hash.verify("clave-nueva-1")
            })
            .times(1)
            .returning(|_| Ok(()));
        let made = mocks
            .build()
            .create_user(&user(Role::Admin), new_user(role), None)
            .await
            .unwrap();
        assert_eq!(made.role, role);
    }

    let mut mocks = Mocks::default();
    mocks
        .users
        .expect_create_user()
        .times(1)
        .returning(|_| Err(Error::conflict(ConflictKind::StaleVersion, "raced")));
    let taken = mocks
        .build()
        .create_user(&user(Role::Admin), new_user(Role::Staff), None)
        .await;
    assert_eq!(conflict(taken), ConflictKind::Duplicate);

    let mut mocks = Mocks::default();
    mocks
        .users
        .expect_create_user()
        .times(1)
        .returning(|_| Err(unavailable()));
    is_unavailable(
        mocks
            .build()
            .create_user(&user(Role::Admin), new_user(Role::Staff), None)
            .await,
    );
}

/// The account use cases take parsed types only: a bad field is refused with its name where
/// it is parsed, so it never reaches a use case, let alone a store.
#[test]
fn bad_account_input_is_refused_where_it_is_parsed() {
    for (email, password, name, field) in [
        ("no-es-un-correo", "clave-nueva-1", "Nueva", "invalid_email"),
        ("nueva@campus.edu", "corta", "Nueva", "invalid_password"),
        (
            "nueva@campus.edu",
            &"x".repeat(129),
            "Nueva",
            "invalid_password",
        ),
        ("nueva@campus.edu", "clave-nueva-1", "", "invalid_nombre"),
    ] {
        let refused = NewUser::parse(email, password, name, Role::Staff).unwrap_err();
        assert_eq!(refused.code(), field, "{email} {password} {name}");
    }
    assert_eq!(Role::parse("root").unwrap_err().code(), "invalid_rol");
    assert_eq!(
        SearchText::parse(&"a".repeat(1000)).unwrap_err().code(),
        "invalid_q"
    );
    assert_eq!(
        DepartmentName::parse("../etc").unwrap_err().code(),
        "invalid_departamento"
    );
}

fn change_password_mocks(current: &str) -> (Mocks, User) {
    let actor = user(Role::Student);
    let mut mocks = Mocks::default();
    let stored = record(
        actor.clone(),
        Password::parse(current).unwrap().hash(),
        false,
    );
    mocks
        .users
        .expect_user_by_id()
        .with(eq(actor.id.clone()))
        .returning(move |_| Ok(Some(stored.clone())));
    mocks
        .login_attempts
        .expect_open_window()
        .returning(|_, _, _| Ok(None));
    (mocks, actor)
}

#[tokio::test]
async fn a_password_change_keeps_only_the_callers_session() {
    let (mut mocks, actor) = change_password_mocks("clave-vieja-1");
    let token = "el-token-de-esta-sesion";
    let keep = SessionToken::from_client(token).hash();
    mocks
        .users
        .expect_set_password_hash()
        .withf({
            let id = actor.id.clone();
            move |target, hash| *target == id && hash.verify("clave-nueva-1")
        })
        .times(1)
        .returning(|_, _| Ok(()));
    mocks
        .users
        .expect_delete_sessions_of()
        .with(eq(actor.id.clone()), eq(Some(keep)))
        .times(1)
        .returning(|_, _| Ok(2));
    mocks
        .build()
        .change_password(
            &actor,
            token,
            "clave-vieja-1",
            Password::parse("clave-nueva-1").unwrap(),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn a_wrong_current_password_counts_as_a_failed_login_and_changes_nothing() {
    let (mut mocks, actor) = change_password_mocks("clave-vieja-1");
    let account = LoginKey::account(actor.email.as_str());
    mocks
        .login_attempts
        .expect_count_failure()
        .with(
            eq(account),
            mockall::predicate::always(),
            mockall::predicate::always(),
        )
        .times(1)
        .returning(|_, now, _| {
            Ok(FailureWindow {
                failures: 1,
                started_at: now,
                last_failed_at: now,
            })
        });
    let result = mocks
        .build()
        .change_password(
            &actor,
            "token",
            "no-es-esta",
            Password::parse("clave-nueva-1").unwrap(),
        )
        .await;
    assert_eq!(result.unwrap_err().code(), "invalid_current_password");
}

#[tokio::test]
async fn a_password_change_hands_on_store_errors() {
    // The hash cannot be written: nothing else happens, no session ends.
    let (mut mocks, actor) = change_password_mocks("clave-vieja-1");
    mocks
        .users
        .expect_set_password_hash()
        .times(1)
        .returning(|_, _| Err(unavailable()));
    let result = mocks
        .build()
        .change_password(
            &actor,
            "token",
            "clave-vieja-1",
            Password::parse("clave-nueva-1").unwrap(),
        )
        .await;
    is_unavailable(result);

    // The failed-login counts cannot be read: refused before the password is even checked.
    let actor = user(Role::Staff);
    let mut mocks = Mocks::default();
    mocks
        .login_attempts
        .expect_open_window()
        .times(1)
        .returning(|_, _, _| Err(unavailable()));
    let result = mocks
        .build()
        .change_password(
            &actor,
            "token",
            "clave-vieja-1",
            Password::parse("clave-nueva-1").unwrap(),
        )
        .await;
    is_unavailable(result);

    // An account removed under a live session is no caller at all.
    let mut mocks = Mocks::default();
    mocks
        .login_attempts
        .expect_open_window()
        .returning(|_, _, _| Ok(None));
    mocks.users.expect_user_by_id().returning(|_| Ok(None));
    let result = mocks
        .build()
        .change_password(
            &actor,
            "token",
            "clave-vieja-1",
            Password::parse("clave-nueva-1").unwrap(),
        )
        .await;
    assert!(matches!(result, Err(Error::Unauthenticated)), "{result:?}");
}

#[tokio::test]
async fn departments_are_added_and_changed_by_admins_with_store_errors_handed_on() {
    let admin = user(Role::Admin);
    let mut mocks = Mocks::default();
    mocks
        .departments
        .expect_create_department()
        .with(eq(department()))
        .times(1)
        .returning(|_| Ok(()));
    mocks
        .departments
        .expect_update_department()
        .with(eq(department()))
        .times(1)
        .returning(|_| Ok(()));
    let app = mocks.build();
    assert_eq!(
        app.create_department(&admin, department(), None)
            .await
            .unwrap(),
        department()
    );
    assert_eq!(
        app.update_department(&admin, department()).await.unwrap(),
        department()
    );

    let mut mocks = Mocks::default();
    mocks
        .departments
        .expect_create_department()
        .times(1)
        .returning(|_| Err(Error::conflict(ConflictKind::StaleVersion, "raced")));
    mocks
        .departments
        .expect_update_department()
        .times(1)
        .returning(|_| Err(Error::NotFound("department")));
    let app = mocks.build();
    assert_eq!(
        conflict(app.create_department(&admin, department(), None).await),
        ConflictKind::Duplicate,
        "a taken name is a duplicate, whatever the store called it"
    );
    assert!(matches!(
        app.update_department(&admin, department()).await,
        Err(Error::NotFound("department"))
    ));

    let mut mocks = Mocks::default();
    mocks
        .departments
        .expect_departments()
        .times(1)
        .returning(|| Err(unavailable()));
    is_unavailable(mocks.build().departments(&user(Role::Student)).await);
}

#[tokio::test]
async fn whether_an_admin_exists_is_the_stores_answer() {
    for answer in [true, false] {
        let mut mocks = Mocks::default();
        mocks
            .users
            .expect_active_admin_exists()
            .times(1)
            .returning(move || Ok(answer));
        assert_eq!(mocks.build().admin_exists().await.unwrap(), answer);
    }
    let mut mocks = Mocks::default();
    mocks
        .users
        .expect_active_admin_exists()
        .returning(|| Err(unavailable()));
    is_unavailable(mocks.build().admin_exists().await);
}
