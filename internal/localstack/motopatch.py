# Runs moto_server with two fixes for running the job workflow locally.
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

from moto.server import main  # noqa: E402

sys.argv[0] = "moto_server"
main()
