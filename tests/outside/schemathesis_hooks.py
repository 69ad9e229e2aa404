"""schemathesis hooks for `cargo xtask outside`.

`POST /admin/users/import` takes JSON Lines (`application/x-ndjson`), a media type schemathesis
has no serializer for. The body's schema is a binary string: the bytes generated for it are
sent as they are, and the server must answer every one of them (the lines it cannot read are
refused one by one, in a 200 report).
"""

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return str(value).encode()
