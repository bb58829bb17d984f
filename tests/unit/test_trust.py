"""ledger.core.trust: genesis, policy, registrations, revocations and rotations read from the log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from corebuild import (
    ADMIN_NAME,
    ORIGIN,
    REQUESTER_NAME,
    STATEMENT_KEY_NAME,
    LogBuilder,
    at,
    flip_signature_bit,
    key,
    stamp,
)

from ledger.core.errors import SignatureError, StatementError, TrustError
from ledger.core.keys import SignerKey
from ledger.core.statement import parse_statement
from ledger.core.trust import TrustState

REQUESTER = key(REQUESTER_NAME)


@pytest.fixture
def log() -> LogBuilder:
    """A log holding only its genesis entry."""
    return LogBuilder().start()


@pytest.fixture
def with_requester(log: LogBuilder) -> LogBuilder:
    """Genesis, then the requester's registration at entry 1."""
    log.register(REQUESTER)
    return log


def refused(log: LogBuilder, statement: str, rule: str | None = None) -> TrustError:
    """Append must raise TrustError (with this rule) and leave the log and state unchanged."""
    size = log.size
    with pytest.raises(TrustError) as caught:
        log.append(statement)
    assert log.size == size
    assert log.state.size == size
    if rule is not None:
        assert caught.value.rule == rule, str(caught.value)
    return caught.value


# ---- genesis -----------------------------------------------------------------------------


def test_genesis_sets_origin_policy_and_keys(log: LogBuilder) -> None:
    """Genesis installs the origin, the policy, the checkpoint key, the ledger key and the first admin."""
    state = log.state
    assert state.size == 1
    assert state.origin == ORIGIN
    assert state.policy["memo"] == ("requester",)
    assert state.checkpoint_keys == [log.checkpoint_key.verifier]
    assert state.statement_key_name == STATEMENT_KEY_NAME
    assert state.current(STATEMENT_KEY_NAME).key == log.statement_key.verifier  # type: ignore[union-attr]
    admin = state.current(ADMIN_NAME)
    assert admin is not None
    assert admin.roles == ("administrator",)
    assert admin.registered_at == 0


def test_entry_zero_must_be_genesis() -> None:
    """A first entry of any other type is refused."""
    log = LogBuilder()
    refused(log, log.memo(log.admin), "trust.genesis")


def test_genesis_not_at_zero_is_refused(log: LogBuilder) -> None:
    """A second genesis is refused."""
    refused(log, log.genesis(), "trust.genesis")


def test_genesis_signed_by_another_key_is_refused() -> None:
    """Genesis must be signed by the statement key it names, alone."""
    log = LogBuilder()
    statement = log.statement("genesis", [log.admin], log.genesis_body())
    refused(log, statement, "trust.genesis")


def test_genesis_signed_by_wrong_key_of_the_right_name_is_refused() -> None:
    """Genesis whose signature is by another key than statement_vkey fails signature checks."""
    log = LogBuilder()
    statement = log.statement("genesis", [key(STATEMENT_KEY_NAME, 1)], log.genesis_body())
    with pytest.raises(SignatureError):
        log.append(statement)


@pytest.mark.parametrize("missing", ["origin", "checkpoint_vkey", "statement_vkey", "administrator", "policy"])
def test_genesis_missing_a_field_is_refused(missing: str) -> None:
    """Every genesis field is required."""
    log = LogBuilder()
    body = {k: v for k, v in log.genesis_body().items() if k != missing}
    with pytest.raises(StatementError, match=missing):
        log.append(log.statement("genesis", [log.statement_key], body))


def test_genesis_checkpoint_key_must_be_named_after_origin() -> None:
    """The checkpoint key's name must be the origin."""
    log = LogBuilder()
    body = log.genesis_body() | {"checkpoint_vkey": str(key("elsewhere.example/log").verifier)}
    with pytest.raises(StatementError, match="origin"):
        log.append(log.statement("genesis", [log.statement_key], body))


def test_genesis_statement_key_needs_its_own_name() -> None:
    """The statement key may not share the checkpoint key's name."""
    log = LogBuilder()
    log.statement_key = key(ORIGIN, 7)
    with pytest.raises(StatementError, match="own name"):
        log.append(log.genesis())


def test_genesis_policy_must_let_the_ledger_sign_blocked() -> None:
    """Without 'ledger' allowed to sign 'blocked', refusals could not be recorded."""
    policy = LogBuilder().policy | {"blocked": ["administrator"]}
    log = LogBuilder(policy=policy)
    with pytest.raises(StatementError, match="blocked"):
        log.append(log.genesis())


@pytest.mark.parametrize("policy", [{}, {"memo": []}, {"memo": "requester"}, {"memo": ["Bad Role"]}])
def test_genesis_with_malformed_policy_is_refused(policy: dict[str, object]) -> None:
    """A policy is a non-empty map of type to a non-empty list of role names."""
    log = LogBuilder(policy=policy)  # type: ignore[arg-type]
    with pytest.raises(StatementError):
        log.append(log.genesis())


# ---- registration ------------------------------------------------------------------------


def test_registered_key_signs_after_its_registration(with_requester: LogBuilder) -> None:
    """A key registered at entry j may sign entry j+1."""
    log = with_requester
    record = log.state.current(REQUESTER_NAME)
    assert record is not None
    assert record.registered_at == 1
    assert not record.valid_at(1)
    assert record.valid_at(2)
    log.append(log.memo(REQUESTER))


def test_unregistered_key_is_refused(log: LogBuilder) -> None:
    """A signer with no registered key is refused."""
    refused(log, log.memo(REQUESTER), "trust.unknown_key")


def test_role_not_allowed_is_refused(with_requester: LogBuilder) -> None:
    """A registered key whose roles the policy does not allow for the type is refused."""
    log = with_requester
    refused(log, log.statement("policy", [REQUESTER], {"policy": log.policy}), "trust.role")
    refused(log, log.memo(log.admin), "trust.role")


def test_type_not_in_policy_is_refused(with_requester: LogBuilder) -> None:
    """A statement type the policy does not list is refused."""
    log = with_requester
    refused(log, log.statement("request", [REQUESTER], {}), "trust.type")


def test_registration_without_proof_of_possession_is_refused(log: LogBuilder) -> None:
    """A registration not signed by the new key itself is refused."""
    body = {"name": REQUESTER_NAME, "vkey": str(REQUESTER.verifier), "roles": ["requester"], "attributes": {}}
    refused(log, log.statement("key_registration", [log.admin], body), "trust.proof_of_possession")


def test_registration_signed_by_another_key_than_vkey_is_refused(log: LogBuilder) -> None:
    """The proof of possession must be by the key being registered."""
    body = {"name": REQUESTER_NAME, "vkey": str(REQUESTER.verifier), "roles": ["requester"], "attributes": {}}
    statement = log.statement("key_registration", [log.admin, key(REQUESTER_NAME, 1)], body)
    with pytest.raises(SignatureError, match="no signature"):
        log.append(statement)
    assert log.size == 1


def test_registration_with_forged_possession_signature_is_refused(log: LogBuilder) -> None:
    """A corrupted proof-of-possession signature is refused."""
    statement = flip_signature_bit(log.registration(REQUESTER, ["requester"]), line=1, bit=9)
    with pytest.raises(SignatureError, match="does not verify"):
        log.append(statement)


def test_self_registration_is_refused(log: LogBuilder) -> None:
    """A key cannot register itself without an administrator."""
    body = {"name": REQUESTER_NAME, "vkey": str(REQUESTER.verifier), "roles": ["requester"], "attributes": {}}
    refused(log, log.statement("key_registration", [REQUESTER], body), "trust.role")


def test_registration_by_non_admin_is_refused(with_requester: LogBuilder) -> None:
    """Only an allowed role may register keys."""
    log = with_requester
    refused(log, log.registration(key("irs.gov/x"), ["requester"], admin=REQUESTER), "trust.role")


def test_vkey_must_carry_the_registered_name(log: LogBuilder) -> None:
    """The vkey in a registration must be named like the principal."""
    other = key("irs.gov/other")
    same_seed_under_requester_name = SignerKey(REQUESTER_NAME, other.seed)
    body = {"name": REQUESTER_NAME, "vkey": str(other.verifier), "roles": ["requester"], "attributes": {}}
    statement = log.statement("key_registration", [log.admin, same_seed_under_requester_name], body)
    refused(log, statement, "trust.key_name")


def test_ledger_role_cannot_be_registered(log: LogBuilder) -> None:
    """Nobody can be registered with the ledger role."""
    refused(log, log.registration(REQUESTER, ["ledger"]), "trust.role")


def test_name_with_a_valid_key_cannot_be_registered_again(with_requester: LogBuilder) -> None:
    """A second registration for a name with a valid key is refused: rotate instead."""
    log = with_requester
    refused(log, log.registration(key(REQUESTER_NAME, 1), ["requester"]), "trust.name_taken")


def test_public_key_reuse_is_refused(with_requester: LogBuilder) -> None:
    """The same public key cannot be registered under a second name."""
    log = with_requester
    twin = SignerKey("irs.gov/twin", REQUESTER.seed)
    refused(log, log.registration(twin, ["requester"]), "trust.key_reuse")


def test_registration_keeps_roles_and_attributes(log: LogBuilder) -> None:
    """Roles and attributes of a registration are kept on the key record."""
    log.append(log.registration(REQUESTER, ["requester", "court"], attributes={"agency": "ICE"}))
    record = log.state.current(REQUESTER_NAME)
    assert record is not None
    assert record.roles == ("requester", "court")
    assert record.attributes == {"agency": "ICE"}


# ---- revocation --------------------------------------------------------------------------


def test_revoked_key_is_refused_after_the_revocation_index(with_requester: LogBuilder) -> None:
    """A key revoked at entry r signs nothing after r."""
    log = with_requester
    log.append(log.memo(REQUESTER))
    log.append(log.revocation(REQUESTER))
    r = log.size - 1
    record = log.state.keys[REQUESTER_NAME][0]
    assert record.revoked_at == r
    assert record.valid_at(r)
    assert not record.valid_at(r + 1)
    refused(log, log.memo(REQUESTER), "trust.revoked_key")


def test_revoking_an_unknown_key_is_refused(with_requester: LogBuilder) -> None:
    """Revoking a key ID the name does not hold is refused."""
    log = with_requester
    refused(log, log.revocation(key(REQUESTER_NAME, 5)), "trust.unknown_key")


def test_revoking_twice_is_refused(with_requester: LogBuilder) -> None:
    """A revoked key cannot be revoked again."""
    log = with_requester
    log.append(log.revocation(REQUESTER))
    refused(log, log.revocation(REQUESTER), "trust.unknown_key")


def test_the_ledger_key_cannot_be_revoked(log: LogBuilder) -> None:
    """The ledger's key is replaced only by ledger_key_rotation."""
    refused(log, log.revocation(log.statement_key), "trust.rotation")


def test_revocation_by_non_admin_is_refused(with_requester: LogBuilder) -> None:
    """Only an allowed role may revoke."""
    log = with_requester
    refused(log, log.revocation(log.admin, admin=REQUESTER), "trust.role")


def test_re_registration_after_revocation(with_requester: LogBuilder) -> None:
    """After revocation a name can be registered again with a new key, which then signs."""
    log = with_requester
    log.append(log.revocation(REQUESTER))
    fresh = key(REQUESTER_NAME, 1)
    log.register(fresh)
    log.append(log.memo(fresh))
    with pytest.raises(SignatureError):
        log.append(log.memo(REQUESTER))


# ---- rotation ----------------------------------------------------------------------------


def test_key_rotation_retires_old_and_admits_new(with_requester: LogBuilder) -> None:
    """After a rotation at r the old key's signature no longer counts and the new key signs."""
    log = with_requester
    new = key(REQUESTER_NAME, 1)
    log.append(log.rotation(REQUESTER, new))
    r = log.size - 1
    old_record, new_record = log.state.keys[REQUESTER_NAME]
    assert old_record.revoked_at == r
    assert new_record.registered_at == r
    assert new_record.roles == old_record.roles
    with pytest.raises(SignatureError, match="no signature by"):
        log.append(log.memo(REQUESTER))
    log.append(log.memo(new))


def test_rotation_must_name_the_retired_key(with_requester: LogBuilder) -> None:
    """A rotation whose 'retires' is not the current key ID is refused."""
    log = with_requester
    new = key(REQUESTER_NAME, 1)
    statement = log.rotation(key(REQUESTER_NAME, 9), new)
    refused(log, statement, "trust.rotation")


def test_rotation_needs_the_new_keys_signature(with_requester: LogBuilder) -> None:
    """A rotation not signed by the new key is refused."""
    log = with_requester
    new = key(REQUESTER_NAME, 1)
    body = {"name": REQUESTER_NAME, "vkey": str(new.verifier), "retires": f"{REQUESTER.verifier.key_id:08x}"}
    refused(log, log.statement("key_rotation", [log.admin], body), "trust.proof_of_possession")


def test_rotation_needs_an_administrator(with_requester: LogBuilder) -> None:
    """A principal cannot rotate its own key alone."""
    log = with_requester
    new = key(REQUESTER_NAME, 1)
    body = {"name": REQUESTER_NAME, "vkey": str(new.verifier), "retires": f"{REQUESTER.verifier.key_id:08x}"}
    refused(log, log.statement("key_rotation", [new], body), "trust.role")


def test_rotation_of_unknown_name_is_refused(log: LogBuilder) -> None:
    """There is nothing to rotate for a name without a valid key."""
    refused(log, log.rotation(REQUESTER, key(REQUESTER_NAME, 1)), "trust.unknown_key")


# ---- ledger key rotation -----------------------------------------------------------------


def test_ledger_key_rotation(with_requester: LogBuilder) -> None:
    """The ledger's statement key rotates: the old key is retired, the new one signs blocked entries."""
    log = with_requester
    old = log.statement_key
    new_statement, new_checkpoint = key(STATEMENT_KEY_NAME, 1), key(ORIGIN, 1)
    log.append(log.ledger_key_rotation(statement_key=new_statement, checkpoint_key=new_checkpoint))
    assert log.state.checkpoint_keys == [log.checkpoint_key.verifier, new_checkpoint.verifier]
    assert log.state.current(STATEMENT_KEY_NAME).key == new_statement.verifier  # type: ignore[union-attr]
    blocked = {"statement_sha256": "00" * 32, "rules": ["rule.example"]}
    with pytest.raises(SignatureError):
        log.append(log.statement("blocked", [old], blocked))
    log.append(log.statement("blocked", [new_statement], blocked))


def test_ledger_key_rotation_by_a_fresh_key_alone_is_refused(with_requester: LogBuilder) -> None:
    """Nobody can take over the ledger's name by signing a rotation with a key of their own."""
    log = with_requester
    attacker = key(STATEMENT_KEY_NAME, 66)
    statement = log.statement("ledger_key_rotation", [attacker], {"statement_vkey": str(attacker.verifier)})
    refused(log, statement, "trust.role")


def test_ledger_key_rotation_countersigned_by_non_admin_is_refused(with_requester: LogBuilder) -> None:
    """The countersignature must come from a role the policy allows."""
    log = with_requester
    new = key(STATEMENT_KEY_NAME, 1)
    refused(log, log.ledger_key_rotation(statement_key=new, admin=REQUESTER), "trust.role")


def test_ledger_key_rotation_needs_the_ledger_name(with_requester: LogBuilder) -> None:
    """A ledger_key_rotation that the ledger's name does not sign is refused."""
    log = with_requester
    body = {"checkpoint_vkey": str(key(ORIGIN, 1).verifier)}
    refused(log, log.statement("ledger_key_rotation", [log.admin], body), "trust.rotation")


def test_checkpoint_key_rotation_signed_by_ledger_key_and_administrator(log: LogBuilder) -> None:
    """A checkpoint-key-only rotation needs the ledger key and an administrator; it adds the key."""
    new_checkpoint = key(ORIGIN, 1)
    body = {"checkpoint_vkey": str(new_checkpoint.verifier)}
    with pytest.raises(TrustError, match="administrator"):
        log.append(log.statement("ledger_key_rotation", [log.statement_key], body))
    log.append(log.statement("ledger_key_rotation", [log.statement_key, log.admin], body))
    assert log.state.checkpoint_keys[-1] == new_checkpoint.verifier


def test_new_checkpoint_key_must_be_named_after_origin(log: LogBuilder) -> None:
    """A new checkpoint key keeps the origin as its name."""
    body = {"checkpoint_vkey": str(key("elsewhere.example/log").verifier)}
    with pytest.raises(StatementError, match="origin"):
        log.append(log.statement("ledger_key_rotation", [log.statement_key, log.admin], body))


def test_new_statement_key_keeps_its_name(log: LogBuilder) -> None:
    """A new statement key under another name cannot be introduced by rotation."""
    renamed = key("ledger.example.gov/other", 1)
    body = {"statement_vkey": str(renamed.verifier)}
    statement = log.statement("ledger_key_rotation", [log.admin, log.statement_key], body)
    with pytest.raises(StatementError, match="name"):
        log.append(statement)


# ---- policy, blocked, time ---------------------------------------------------------------


def test_policy_statement_changes_who_may_sign(with_requester: LogBuilder) -> None:
    """After a policy statement, the new rules apply from the next entry."""
    log = with_requester
    reviewer = log.register(key("irs.gov/reviewer"), ("reviewer",))
    refused(log, log.memo(reviewer), "trust.role")
    log.append(log.statement("policy", [log.admin], {"policy": log.policy | {"memo": ["reviewer"]}}))
    log.append(log.memo(reviewer))
    refused(log, log.memo(REQUESTER), "trust.role")


def test_malformed_policy_statement_is_refused(log: LogBuilder) -> None:
    """A policy statement must carry a well-formed policy."""
    with pytest.raises(StatementError):
        log.append(log.statement("policy", [log.admin], {"policy": {"memo": []}}))


def test_blocked_must_be_signed_by_the_ledger_alone(log: LogBuilder) -> None:
    """blocked entries carry only the ledger's signature."""
    body = {"statement_sha256": "00" * 32, "rules": ["rule.example"]}
    refused(log, log.statement("blocked", [log.admin], body), "trust.role")
    refused(log, log.statement("blocked", [log.statement_key, log.admin], body), "trust.role")
    log.append(log.statement("blocked", [log.statement_key], body))


def test_expired_statement_is_refused(with_requester: LogBuilder) -> None:
    """A statement recorded after its not_after is refused."""
    log = with_requester
    statement = log.statement("memo", [REQUESTER], {}, issued_at=at(-100), valid_for=timedelta(seconds=10))
    refused(log, statement, "trust.expired")


def test_statement_from_the_future_is_refused(with_requester: LogBuilder) -> None:
    """A statement issued more than the allowed clock skew after recording is refused."""
    log = with_requester
    statement = log.statement("memo", [REQUESTER], {}, issued_at=log.now() + timedelta(minutes=5, seconds=1))
    refused(log, statement, "trust.future")


def test_small_clock_skew_is_tolerated(with_requester: LogBuilder) -> None:
    """Issued up to five minutes after recording is accepted."""
    log = with_requester
    log.append(log.statement("memo", [REQUESTER], {}, issued_at=log.now() + timedelta(minutes=5)))


# ---- the state machine itself ------------------------------------------------------------


def test_authorize_refuses_out_of_order_indices(with_requester: LogBuilder) -> None:
    """authorize and apply only take the next index."""
    log = with_requester
    stmt = parse_statement(log.memo(REQUESTER))
    with pytest.raises(TrustError, match="asked about entry 5"):
        log.state.authorize(stmt, 5, stamp(5))
    with pytest.raises(TrustError, match="applying entry 0"):
        log.state.apply(stmt, 0)


def test_replaying_a_log_reproduces_the_state(with_requester: LogBuilder) -> None:
    """A fresh TrustState fed the same statements reaches the same keys and policy."""
    log = with_requester
    log.append(log.rotation(REQUESTER, key(REQUESTER_NAME, 1)))
    fresh = TrustState()
    for index, entry in enumerate(log.entries):
        fresh.admit(parse_statement(entry.statement), index, entry.recorded_at)
    assert fresh == log.state
