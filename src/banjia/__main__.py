from banjia.cli import main

raise SystemExit(main())
