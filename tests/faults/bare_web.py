"""The real web (traced as in its image) whose own error answers are a bare status
with no body, for the blame tests: the blame must come from the spans."""

from starlette.responses import Response

import contoso_web.app
from contoso_web.__main__ import main

contoso_web.app.error = lambda message, status: Response(status_code=status)
main()
