# Runs moto_server with six fixes for running the job workflow locally.
#
# moto 5.x deep-copies a state machine on every StartExecution, including
# its list of executions. An execution holds thread locks, which cannot be
# copied, so with execute_state_machine on, the second StartExecution of
# any state machine fails with "cannot pickle '_thread.RLock' object". The
# copy only needs the definition: copy everything but the executions.
import copy
import sys

from moto.stepfunctions.models import StateMachineInstance


def _deepcopy_without_executions(self, memo):
    cls = self.__class__
    clone = cls.__new__(cls)
    memo[id(self)] = clone
    for name, value in self.__dict__.items():
        setattr(clone, name, [] if name == "executions" else copy.deepcopy(value, memo))
    return clone


StateMachineInstance.__deepcopy__ = _deepcopy_without_executions

# Second fix: moto's DynamoDB evaluates a ConditionExpression and writes the
# item in two steps without a lock, so two concurrent conditional puts on the
# same version can both succeed (seen: 1 in 200 races of 4 threads). Real
# DynamoDB never allows that, and the job store's optimistic locking relies
# on it. Serialise DynamoDB requests.
import threading  # noqa: E402

from moto.dynamodb.responses import DynamoHandler  # noqa: E402

_dynamodb_lock = threading.Lock()
_dynamodb_call_action = DynamoHandler.call_action


def _serialised_call_action(self):
    with _dynamodb_lock:
        return _dynamodb_call_action(self)


DynamoHandler.call_action = _serialised_call_action

# Third fix: moto evaluates every workflow variable reference ("$wait",
# "$x.y") through a JSONata engine that needs a Java bridge (jpype), absent
# here, so any JSONPath state that reads a variable fails with
# "'NoneType' object is not callable". In a JSONPath state a variable
# reference is a plain lookup, optionally followed by field names: resolve
# it from the execution's variable store. Anything else (JSONata states,
# array subscripts) still goes to moto's own evaluation.
import re  # noqa: E402

from moto.stepfunctions.parser.asl.component.common.query_language import (  # noqa: E402
    QueryLanguageMode,
)
from moto.stepfunctions.parser.asl.component.common.string.string_expression import (  # noqa: E402
    StringVariableSample,
)

_plain_variable_reference = re.compile(r"^\$([A-Za-z_][A-Za-z0-9_]*)((?:\.[A-Za-z_][A-Za-z0-9_]*)*)$")
_sample_variable = StringVariableSample._eval_body


def _sample_variable_natively(self, env):
    m = _plain_variable_reference.match(self.expression)
    if self.query_language_mode != QueryLanguageMode.JSONPath or m is None:
        return _sample_variable(self, env)
    value = env.variable_store.get(m.group(1))
    for field in filter(None, m.group(2).split(".")):
        value = value[field]
    env.stack.append(copy.deepcopy(value))


StringVariableSample._eval_body = _sample_variable_natively

# Fourth fix: a Catch whose Next is the state it belongs to (the Watch loop
# re-enters Watch on a timeout) is legal ASL, but moto decides whether a
# Catch overrode Next by comparing the next state's name with the current
# one, so it takes the state's own Next instead. Remember what the Catch
# chose and honour it.
from moto.stepfunctions.parser.asl.component.common.catch.catcher_decl import (  # noqa: E402
    CatcherDecl,
    CatcherOutcomeCaught,
)
from moto.stepfunctions.parser.asl.component.state.state import CommonStateField  # noqa: E402

_catcher_eval_body = CatcherDecl._eval_body
_state_set_next = CommonStateField._set_next


def _catcher_eval_body_remembering_next(self, env):
    _catcher_eval_body(self, env)
    if env.stack and isinstance(env.stack[-1], CatcherOutcomeCaught):
        env.videojobs_caught_next = self.next_decl.name


def _set_next_after_catch(self, env):
    caught = getattr(env, "videojobs_caught_next", None)
    if caught is not None:
        env.videojobs_caught_next = None
        env.next_state_name = caught
        return
    _state_set_next(self, env)


CatcherDecl._eval_body = _catcher_eval_body_remembering_next
CommonStateField._set_next = _set_next_after_catch

# Fifth fix: moto's SendTaskFailure handler drops the request's cause, so a
# Catch sees Cause null (the Reschedule catch reads its new wait from it).
# Pass it on.
from moto.stepfunctions.responses import StepFunctionResponse  # noqa: E402
from moto.core.responses import EmptyResult  # noqa: E402


def _send_task_failure_with_cause(self):
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return EmptyResult()


StepFunctionResponse.send_task_failure = _send_task_failure_with_cause

# Sixth fix (speed, not behaviour): before a TransactWriteItems, moto
# deep-copies every table the transaction touches, to roll back on failure.
# That is O(table size) per transaction: with a few thousand delivery
# records it costs tens of milliseconds, and the webhook function's
# dedupe transaction then waits on it behind the DynamoDB lock above.
# Snapshot the table instead with shallow copies of its item containers,
# deep-copying only the items under the partition keys the transaction
# names (the only ones it can change, in place or not). Rollback restores
# the same state as before.
import moto.dynamodb.models as _ddb_models  # noqa: E402
from moto.dynamodb.models.dynamo_type import DynamoType  # noqa: E402
from moto.dynamodb.models.table import Table  # noqa: E402

_touched = threading.local()


class _SnapshotCopy:
    """Stands in for the copy module inside moto.dynamodb.models."""

    def __getattr__(self, name):
        return getattr(copy, name)

    @staticmethod
    def deepcopy(x, memo=None):
        hashes = getattr(_touched, "hashes", None)
        if hashes is None or not isinstance(x, Table):
            return copy.deepcopy(x, memo)
        clone = copy.copy(x)
        clone.items = type(x.items)(x.items.default_factory)
        for h, v in x.items.items():
            if h in hashes:
                clone.items[h] = copy.deepcopy(v)
            else:
                clone.items[h] = dict(v) if isinstance(v, dict) else v
        return clone


_ddb_models.copy = _SnapshotCopy()
_transact_write_items = _ddb_models.DynamoDBBackend.transact_write_items


def _transact_write_items_snapshotting_touched(self, transact_items):
    hashes = set()
    for item in transact_items:
        for op_type, op in item.items():
            table = self.tables.get(op.get("TableName"))
            if table is None:
                continue
            key = op.get("Item") if op_type == "Put" else op.get("Key")
            if key and table.hash_key_attr in key:
                hashes.add(DynamoType(key[table.hash_key_attr]))
    _touched.hashes = hashes
    try:
        return _transact_write_items(self, transact_items)
    finally:
        _touched.hashes = None


_ddb_models.DynamoDBBackend.transact_write_items = _transact_write_items_snapshotting_touched

from moto.server import main  # noqa: E402

sys.argv[0] = "moto_server"
main()
