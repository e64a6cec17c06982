"""An SQS work queue and its dead-letter queue: seed 004's "episode processing queue" and "dead letter queue".

Seed 004 runs RabbitMQ for both; on AWS the managed equivalent is SQS, and it is what lets the GPU
transcriber scale to zero: KEDA reads the queue's length with its own Pod Identity (``aws-sqs-queue``
scaler, ``GetQueueAttributes`` only), where its Redis scaler cannot sign ElastiCache's IAM tokens.

Decisions:

* **Encryption: SQS-managed SSE (SSE-SQS), not the tenant's KMS key.** A message is an episode reference
  (ids, an S3 key), not the audio or a transcript. SSE-SQS encrypts at rest with keys SQS owns, at no cost and
  with nothing to grant: with a customer key every producer would need ``kms:GenerateDataKey`` and every
  consumer ``kms:Decrypt`` (and a missing grant fails silently as an access error on send/receive), and each
  data-key request is billed. The key policy of a customer key would buy per-key audit and revocation, which a
  work queue of references does not need. ``aws-sqs-encrypted`` checks it stays on.
* **TLS only, by a queue policy that denies a request whose ``aws:SecureTransport`` is ``false``.** SQS
  puts that key in every request's context (true over HTTPS), so ``Bool: false`` matches exactly the plain
  HTTP ones. The trap of the last round: a Deny conditioned on a key the request never carries (an
  ``...IfExists`` operator, or an SSE header) matches every request and denies everything;
  tests/test_aws_queue.py has the IAM evaluator allow the same request over TLS and deny it over HTTP. The
  policy has no Allow: access comes from the identity policies (``consume_statements``/``send_statements``)
  of same-account roles, which a Deny-only resource policy leaves as they are.
* **Redrive**: after ``MAX_RECEIVE_COUNT`` (5) receives without a delete, SQS moves a message to the DLQ. The
  DLQ keeps messages 14 days (the maximum) and only this queue may redrive into it (``RedriveAllowPolicy``,
  ``byQueue``). On a standard queue a message keeps its original enqueue time when it moves, so the DLQ's
  retention must be longer than the source's (4 days, AWS's default, stated here) to leave time to look.
* **Visibility timeout** is a transcription's length (default 15 minutes): a message a consumer holds longer
  reappears and is processed twice. A consumer expecting more extends it (``ChangeMessageVisibility``, in
  ``consume_statements``). **Long polling** (20 s, the maximum) keeps idle consumers from paying per empty
  receive.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from .aws_names import bounded

SQS_NAME_PREFIX_MAX = 53
"""SQS names are at most 80 characters; the provider appends a 26-character unique suffix to ``name_prefix``."""
MAX_RECEIVE_COUNT = 5
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
"""14 days, the most SQS keeps a message."""
SOURCE_RETENTION_SECONDS = 4 * 24 * 3600
"""4 days, AWS's default, written out: it must stay below the DLQ's (module docstring)."""
LONG_POLL_SECONDS = 20
CONSUME_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes")
SEND_ACTIONS = ("sqs:SendMessage", "sqs:GetQueueAttributes")
SCALER_ACTIONS = ("sqs:GetQueueAttributes",)
"""What KEDA's ``aws-sqs-queue`` scaler calls (pkg/scalers/aws_sqs_queue_scaler.go, v2.20.2), and nothing else."""


@dataclass(frozen=True)
class AwsQueueArgs:
    protect: bool
    """Production: the queue and its DLQ cannot be deleted by a `pulumi up` (queued work and failures)."""
    visibility_timeout_seconds: int = 900
    """How long a received message stays hidden from other consumers. Default: 900 (a transcription)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags of both queues. Default: none (the provider's default tags apply)."""


def tls_only_policy(queue_arn: str) -> dict[str, Any]:
    """Deny every SQS action on the queue over plain HTTP (module docstring: no Allow, no ``IfExists``)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


def redrive_policy(dead_letter_arn: str) -> str:
    return json.dumps({"deadLetterTargetArn": dead_letter_arn, "maxReceiveCount": MAX_RECEIVE_COUNT})


def redrive_allow_policy(source_arn: str) -> str:
    return json.dumps({"redrivePermission": "byQueue", "sourceQueueArns": [source_arn]})


def _sid(verb: str, queue_arn: str) -> str:
    """A Sid unique per queue (a role may consume one queue and send to another; Sids repeat nowhere)."""
    return verb + "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", queue_arn.rsplit(":", 1)[-1]))


def _statement(verb: str, actions: tuple[str, ...], queue_arn: str) -> dict[str, Any]:
    if "*" in queue_arn or not queue_arn.startswith("arn:aws:sqs:"):
        raise ValueError(f"{queue_arn!r} is not one queue's ARN: a queue grant names exactly one queue")
    return {"Sid": _sid(verb, queue_arn), "Effect": "Allow", "Action": list(actions), "Resource": [queue_arn]}


def consume_statements(queue_arn: str) -> list[dict[str, Any]]:
    """Receive, delete and extend messages of one queue (the worker that drains it)."""
    return [_statement("Consume", CONSUME_ACTIONS, queue_arn)]


def send_statements(queue_arn: str) -> list[dict[str, Any]]:
    """Send messages to one queue (a producer, e.g. the API that accepts an episode)."""
    return [_statement("Send", SEND_ACTIONS, queue_arn)]


def scaler_statements(queue_arns: list[str]) -> list[dict[str, Any]]:
    """Read the length of the given queues (KEDA's operator), one statement naming each queue."""
    for arn in queue_arns:
        _statement("Scale", SCALER_ACTIONS, arn)
    return [
        {"Sid": "ReadQueueLengths", "Effect": "Allow", "Action": list(SCALER_ACTIONS), "Resource": sorted(queue_arns)}
    ]


class AwsQueue(pulumi.ComponentResource):
    """A standard SQS queue with a dead-letter queue, SSE-SQS and a TLS-only policy (module docstring)."""

    url: pulumi.Output[str]
    """Queue URL (what SDKs and KEDA's ``queueURL`` take)."""
    arn: pulumi.Output[str]
    """Queue ARN (for IAM statements)."""
    dead_letter_url: pulumi.Output[str]
    """URL of the dead-letter queue (for inspection and redrive)."""
    dead_letter_arn: pulumi.Output[str]
    dead_letter_name: pulumi.Output[str]
    """Name of the dead-letter queue (the ``QueueName`` dimension of its CloudWatch alarm)."""

    def __init__(self, name: str, args: AwsQueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if not 0 <= args.visibility_timeout_seconds <= 43200:
            raise ValueError(
                f"{name}: visibility_timeout_seconds {args.visibility_timeout_seconds} is outside SQS's 0-43200 "
                "(12 h): use the longest transcription plus a margin"
            )
        super().__init__("platform:aws:Queue", name, None, opts)
        kept = pulumi.ResourceOptions(parent=self, protect=args.protect)
        tags = dict(args.tags)

        dead_letter = aws.sqs.Queue(
            f"{name}-dlq",
            name_prefix=f"{bounded(f'{name}-dlq', SQS_NAME_PREFIX_MAX)}-",
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            tags={**tags, "queue-role": "dead-letter"},
            opts=kept,
        )
        queue = aws.sqs.Queue(
            f"{name}-queue",
            name_prefix=f"{bounded(name, SQS_NAME_PREFIX_MAX)}-",
            visibility_timeout_seconds=args.visibility_timeout_seconds,
            message_retention_seconds=SOURCE_RETENTION_SECONDS,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            sqs_managed_sse_enabled=True,
            redrive_policy=dead_letter.arn.apply(redrive_policy),
            tags={**tags, "queue-role": "work"},
            opts=kept,
        )
        # Separate resources, not Queue arguments: the DLQ's redrive-allow names the source, which is created
        # after it (its redrive policy names the DLQ), and the policies name each queue's own ARN.
        aws.sqs.RedriveAllowPolicy(
            f"{name}-dlq-redrive-allow",
            queue_url=dead_letter.url,
            redrive_allow_policy=queue.arn.apply(redrive_allow_policy),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for suffix, target in (("queue", queue), ("dlq", dead_letter)):
            aws.sqs.QueuePolicy(
                f"{name}-{suffix}-tls-only",
                queue_url=target.url,
                policy=target.arn.apply(lambda arn: json.dumps(tls_only_policy(arn))),
                opts=pulumi.ResourceOptions(parent=self),
            )

        self.url = queue.url
        self.arn = queue.arn
        self.dead_letter_url = dead_letter.url
        self.dead_letter_arn = dead_letter.arn
        self.dead_letter_name = dead_letter.name
        self.register_outputs(
            {
                "url": self.url,
                "arn": self.arn,
                "dead_letter_url": self.dead_letter_url,
                "dead_letter_arn": self.dead_letter_arn,
            }
        )
