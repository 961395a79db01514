"""The OpenAPI 3 description of the JSON API (judging.api), served at /api/openapi.json."""

from __future__ import annotations

from labeling.importing import FIELDS


def openapi_schema() -> dict:
    """OpenAPI 3 description of every route in judging.api_urls (a test keeps the two in step)."""
    error = {"$ref": "#/components/schemas/Error"}

    def responses(ok: dict, *codes: int) -> dict:
        found = {"200": ok}
        messages = {
            400: "Bad request",
            401: "Missing, unknown, revoked or expired token",
            403: "Token lacks the scope (or its owner the role)",
            404: "Not found, or a project the token's owner is not a member of (or lacks the role in)",
            413: "Body too large",
        }
        for code in codes:
            found[str(code)] = {
                "description": messages[code],
                "content": {"application/json": {"schema": error}},
            }
        return found

    slug = {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
    model = {
        "name": "model",
        "in": "query",
        "description": "The model endpoint's name, e.g. sim/judge-small.",
        "schema": {"type": "string"},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Flywheel API",
            "version": "1",
            "description": "Production judge prompts, items and labels import, metrics. Authenticate with "
            "a personal token from the API tokens page: Authorization: Bearer <token>.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/api/projects/{slug}/prompt": {
                "get": {
                    "summary": "The production prompt of (project, model), with its DSPy program JSON",
                    "description": "Scope prompts:read. `program` is what dspy's Module.save(path.json, "
                    "save_program=False) writes for the judge; load it into a dspy.Module holding a "
                    "dspy.Predict named `judge` over the listed fields.",
                    "parameters": [slug, {**model, "required": True}],
                    "responses": responses(
                        {
                            "description": "The production prompt",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Prompt"}}
                            },
                        },
                        400,
                        401,
                        403,
                        404,
                    ),
                }
            },
            "/api/projects/{slug}/items": {
                "post": {
                    "summary": "Queue an import of items and their labels, all or nothing",
                    "description": "Scope items:write. The body is JSON Lines (application/x-ndjson) or CSV "
                    "(text/csv), or a multipart form with the field `file`. It is queued as an import job "
                    "(as the browser's upload is): 202 with the job's URL (also in Location). One bad line "
                    "and nothing is kept; the job then names every bad line.",
                    "parameters": [
                        slug,
                        {
                            "name": "format",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["jsonl", "csv"]},
                        },
                        {
                            "name": "map",
                            "in": "query",
                            "description": "field=column, repeatable; fields: " + ", ".join(FIELDS),
                            "schema": {"type": "array", "items": {"type": "string"}},
                            "explode": True,
                        },
                        {"name": "file_scale", "in": "query", "schema": {"type": "string", "example": "0-3"}},
                        {
                            "name": "labels_as",
                            "in": "query",
                            "description": "Owner of labels with no annotator (default: the token's user).",
                            "schema": {"type": "string"},
                        },
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/x-ndjson": {"schema": {"type": "string"}},
                            "text/csv": {"schema": {"type": "string"}},
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"file": {"type": "string", "format": "binary"}},
                                }
                            },
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "Queued",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/ImportJob"}}
                            },
                        },
                        **{k: v for k, v in responses({}, 400, 401, 403, 404, 413).items() if k != "200"},
                    },
                }
            },
            "/api/projects/{slug}/imports/{job_id}": {
                "get": {
                    "summary": "An import job: queued, running, done (with counts) or failed (bad lines)",
                    "description": "Scope items:write.",
                    "parameters": [
                        slug,
                        {"name": "job_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    ],
                    "responses": responses(
                        {
                            "description": "The job",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/ImportJob"}}
                            },
                        },
                        401,
                        403,
                        404,
                    ),
                }
            },
            "/api/projects/{slug}/metrics": {
                "get": {
                    "summary": "Metrics per split of the project's prompt versions",
                    "description": "Scope metrics:read. Production versions unless status=any.",
                    "parameters": [
                        slug,
                        model,
                        {
                            "name": "status",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["production", "any"]},
                        },
                    ],
                    "responses": responses(
                        {
                            "description": "Metrics",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Metrics"}}
                            },
                        },
                        401,
                        403,
                        404,
                    ),
                }
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "This schema",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3 schema"}},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                },
                "Field": {
                    "type": "object",
                    "properties": {
                        "name": {"type": "string"},
                        "type": {"type": "string"},
                        "description": {"type": "string"},
                    },
                },
                "Prompt": {
                    "type": "object",
                    "properties": {
                        "project": {"type": "string"},
                        "model": {"type": "string"},
                        "version": {"type": "integer"},
                        "parent": {"type": "integer", "nullable": True},
                        "origin": {"type": "string"},
                        "instructions": {"type": "string"},
                        "demos": {"type": "array", "items": {"type": "object"}},
                        "scale": {
                            "type": "object",
                            "properties": {
                                "min": {"type": "integer"},
                                "max": {"type": "integer"},
                                "descriptions": {"type": "object"},
                            },
                        },
                        "input_fields": {"type": "array", "items": {"$ref": "#/components/schemas/Field"}},
                        "output_fields": {"type": "array", "items": {"$ref": "#/components/schemas/Field"}},
                        "program": {"type": "object", "description": "DSPy program state JSON"},
                    },
                },
                "ImportJob": {
                    "type": "object",
                    "properties": {
                        "job": {"type": "integer"},
                        "status": {
                            "type": "string",
                            "enum": ["queued", "running", "done", "failed", "cancelled", "interrupted"],
                        },
                        "items_imported": {"type": "integer"},
                        "labels_imported": {"type": "integer"},
                        "error": {"type": "string"},
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {"line": {"type": "integer"}, "message": {"type": "string"}},
                            },
                        },
                        "url": {"type": "string", "description": "This job in the API (on a 202)"},
                        "page": {"type": "string", "description": "This job's page in the browser"},
                    },
                },
                "Metrics": {
                    "type": "object",
                    "properties": {
                        "project": {"type": "string"},
                        "versions": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "version": {"type": "integer"},
                                    "model": {"type": "string"},
                                    "status": {"type": "string"},
                                    "origin": {"type": "string"},
                                    "flagged": {"type": "boolean"},
                                    "metrics": {
                                        "type": "object",
                                        "description": "split -> nmse, malformed_rate, kappa, …, "
                                        "dollars_per_1000, latency_p50_ms, run",
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    }
