"""A service's AsyncAPI document: faststream's, with every consumed topic's payload filled in.

faststream takes a subscriber's payload from its handler's argument, and the kit's handlers
take raw records (the processor decodes them), so consumed topics would show no payload at
all; contracts.published knows what travels on each topic.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import TypeAdapter

from contracts import published

_REFS = "#/components/schemas/{model}"


def document(broker: KafkaBroker, title: str, description: str) -> dict[str, Any]:
    """The AsyncAPI 3 document of the broker's publishers and subscribers."""
    spec = AsyncAPI(broker, title=title, version="1.0.0", description=description)
    doc: dict[str, Any] = spec.to_specification().to_jsonable()
    components = doc.setdefault("components", {})
    schemas, messages = components.setdefault("schemas", {}), components.get("messages", {})
    for channel in doc.get("channels", {}).values():
        try:
            types = published.types_of(channel["address"])
        except KeyError:
            continue  # a topic contracts does not describe: left as faststream says
        for ref in channel.get("messages", {}).values():
            name = unquote(ref["$ref"].rsplit("/", 1)[1])
            message = messages.get(name)
            if message is None or not name.endswith("SubscribeMessage"):
                continue  # publishers carry their documented schema already
            schema = TypeAdapter(published.payload_of(types)).json_schema(ref_template=_REFS)
            schemas.update(schema.pop("$defs", {}))
            # One model goes by its own name, as faststream files a publisher's; a union by
            # the message's.
            payload = schema["title"] if "anyOf" not in schema else f"{name}:Payload"
            schemas[payload] = {**schema, "title": payload}
            message["payload"] = {"$ref": _REFS.format(model=payload)}
            channel.setdefault("description", published.describe(types, "Consumed:"))
    return doc
