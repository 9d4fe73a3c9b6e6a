from __future__ import annotations

from greenroom.clients.cli.main import main

raise SystemExit(main())
