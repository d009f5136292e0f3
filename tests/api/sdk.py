"""Helpers for tests that drive the official Cloudinary SDK against the live test server."""


def poll_resource(public_id, *, until, timeout=60, worker=None):
    """cloudinary.api.resource until `until(resource)` holds, as a client waiting for its analysis would."""
    import cloudinary.api

    from tests.conftest import wait_for

    holder = {}

    def done():
        holder["resource"] = cloudinary.api.resource(public_id)
        return until(holder["resource"])

    wait_for(done, timeout=timeout, interval=0.5,
             message=f"{public_id}: last {holder.get('resource')}\nworker log:\n{worker.output() if worker else ''}")
    return holder["resource"]


def statuses(resource) -> dict:
    return {
        addon: result["status"] for results in resource.get("info", {}).values() for addon, result in results.items()
    }
