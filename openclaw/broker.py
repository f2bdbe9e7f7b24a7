"""kombu's filesystem transport, made safe for a polling consumer: messages appear atomically.

Stock `_put` writes the final file in place, so a worker can read it half-written and drop it.
Here a message is written to a hidden temp file, fsynced, then renamed into the queue folder.
"""

import os
import uuid
from pathlib import Path
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for folder in (self.data_folder_in, self.data_folder_out, self.control_folder):
            Path(folder).mkdir(parents=True, exist_ok=True)

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]  # kombu passes extra options
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        # A leading dot keeps `_get` from matching the temp file (it compares the suffix).
        temp = os.path.join(self.data_folder_out, f".tmp-{name}")
        try:
            with open(temp, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise ChannelError(f"Cannot add message to {self.data_folder_out!r}") from exc


class Transport(filesystem.Transport):
    Channel = Channel

    @property
    def default_connection_params(self) -> dict[str, object]:
        # A folder, not a host: without this kombu warns "No hostname was supplied" on every
        # connection (each task sent from the admin or a command).
        return {}
