"""`minirag bootstrap-aws` (minirag.local.aws_bootstrap) against moto: the queue, DLQ and bucket the
stack creates in AWS, with the same attributes as template.yaml, named by settings; idempotent."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import create_engine, inspect

from minirag.local import aws_bootstrap
from minirag.local.aws_bootstrap import bootstrap
from minirag.local.template import load_template
from minirag.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
RESOURCES = load_template(str(ROOT / "template.yaml")).raw["Resources"]
PARAMETERS = load_template(str(ROOT / "template.yaml")).raw["Parameters"]


@pytest.fixture
def aws():
    with mock_aws():
        yield


def _settings(tmp_path: Path, **overrides) -> Settings:
    return Settings(environment="test", data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'boot.db'}",
                    **overrides)


def test_bootstrap_creates_queue_dlq_and_bucket_named_by_settings(aws, tmp_path):
    # Given settings naming the resources
    settings = _settings(tmp_path, ingest_queue_name="acme-ingest", ingest_dlq_name="acme-ingest-dlq",
                         upload_bucket="acme-uploads", ingest_max_receive_count=5)

    # When the bootstrap runs
    result = bootstrap(settings)

    # Then the queue redrives to the DLQ after INGEST_MAX_RECEIVE_COUNT receives
    sqs = boto3.client("sqs")
    assert result.queue_url == sqs.get_queue_url(QueueName="acme-ingest")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=result.queue_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(attributes["RedrivePolicy"])
    assert int(redrive["maxReceiveCount"]) == 5
    assert redrive["deadLetterTargetArn"] == result.dlq_arn
    assert result.dlq_arn.endswith(":acme-ingest-dlq")
    assert int(attributes["VisibilityTimeout"]) == aws_bootstrap.INGEST_VISIBILITY_TIMEOUT_SECONDS
    # And the bucket is private, encrypted, open to browser PUTs, and drops abandoned multipart uploads
    s3 = boto3.client("s3")
    block = s3.get_public_access_block(Bucket="acme-uploads")["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = s3.get_bucket_encryption(Bucket="acme-uploads")["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    cors = s3.get_bucket_cors(Bucket="acme-uploads")["CORSRules"]
    assert cors[0]["AllowedMethods"] == ["PUT"]
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket="acme-uploads")["Rules"]
    assert lifecycle[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 1
    # And the database is migrated
    assert "alembic_version" in inspect(create_engine(settings.resolved_database_url)).get_table_names()


def test_bootstrap_twice_changes_nothing(aws, tmp_path):
    # Given a bootstrapped account
    settings = _settings(tmp_path)
    first = bootstrap(settings, migrate=False)

    # When it runs again
    second = bootstrap(settings, migrate=False)

    # Then the same resources are reported and no duplicates exist
    assert first == second
    assert len(boto3.client("sqs").list_queues()["QueueUrls"]) == 4  # ingest and webhooks, each with its DLQ
    assert [b["Name"] for b in boto3.client("s3").list_buckets()["Buckets"]] == [settings.upload_bucket]


def test_bootstrap_matches_the_template_queue_and_bucket():
    # Given the template's queue, DLQ and bucket
    queue = RESOURCES["IngestQueue"]["Properties"]
    dlq = RESOURCES["IngestDLQ"]["Properties"]
    bucket = RESOURCES["UploadBucket"]["Properties"]

    # Then the bootstrap creates them with the same attributes
    assert queue["VisibilityTimeout"] == aws_bootstrap.INGEST_VISIBILITY_TIMEOUT_SECONDS
    assert queue["MessageRetentionPeriod"] == aws_bootstrap.INGEST_RETENTION_SECONDS
    assert dlq["MessageRetentionPeriod"] == aws_bootstrap.DLQ_RETENTION_SECONDS
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "IngestMaxReceiveCount"}
    assert PARAMETERS["IngestMaxReceiveCount"]["Default"] == Settings.model_fields["ingest_max_receive_count"].default
    lifecycle = bucket["LifecycleConfiguration"]["Rules"]
    assert lifecycle[0]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == \
        aws_bootstrap.ABORT_INCOMPLETE_UPLOADS_DAYS
    cors = bucket["CorsConfiguration"]["CorsRules"][0]
    assert cors["AllowedMethods"] == ["PUT"] and cors["MaxAge"] == aws_bootstrap.UPLOAD_CORS_MAX_AGE_SECONDS
    # And the template names follow the settings' defaults (plus the stage)
    assert queue["QueueName"] == {"Fn::Sub": Settings.model_fields["ingest_queue_name"].default + "-${Stage}"}
    assert dlq["QueueName"] == {"Fn::Sub": Settings.model_fields["ingest_dlq_name"].default + "-${Stage}"}


def test_cli_refuses_real_aws_without_endpoint(monkeypatch, capsys):
    # Given no emulator endpoint
    from minirag.cli import main

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)

    # When the bootstrap command runs
    code = main(["bootstrap-aws", "--no-migrate"])

    # Then it stops before touching an account (the stack creates these in AWS)
    assert code == 2
    assert "AWS_ENDPOINT_URL" in capsys.readouterr().err
