"""API definitions embedded in generated workload endpoints (OpenAPI, proto, GraphQL).

Shared constant strings: generation stays fast, and consumers see the same real-looking
definitions a Backstage API entity would carry.
"""

from __future__ import annotations

URL_SHORTENER_OPENAPI = """openapi: 3.0.3
info:
  title: URL Shortener API
  version: 1.0.0
paths:
  /shorten:
    post:
      summary: Create a short URL
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                url:
                  type: string
      responses:
        '201':
          description: Created
  /{code}:
    get:
      summary: Resolve a short URL
      parameters:
        - name: code
          in: path
          required: true
          schema:
            type: string
      responses:
        '302':
          description: Redirect
"""


def openapi_for(component: str) -> str:
    """A small OpenAPI document naming the component."""
    return (
        "openapi: 3.0.3\n"
        f"info:\n  title: {component} API\n  version: 1.0.0\n"
        "paths:\n  /items:\n    get:\n      summary: List items\n"
        "      responses:\n        '200':\n          description: OK\n"
    )


PROTO = """syntax = "proto3";
package catalog.v1;

service CatalogService {
  rpc GetItem (GetItemRequest) returns (Item);
}

message GetItemRequest {
  string id = 1;
}

message Item {
  string id = 1;
  string name = 2;
}
"""

GRAPHQL = """type Query {
  item(id: ID!): Item
  items(first: Int = 10): [Item!]!
}

type Item {
  id: ID!
  name: String!
}
"""
