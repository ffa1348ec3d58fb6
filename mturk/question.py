"""The ExternalQuestion document a HIT carries: MTurk shows our worker page in an iframe.

Schema: http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd
MTurk appends assignmentId, hitId, workerId and turkSubmitTo to ``ExternalURL`` when it loads the frame.
"""

from __future__ import annotations

from xml.etree import ElementTree

EXTERNAL_QUESTION_NS = (
    "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2006-07-14/ExternalQuestion.xsd"
)
MAX_QUESTION_BYTES = 65_535
# 0 tells MTurk to size the frame to the browser window; otherwise 1..MAX_FRAME_HEIGHT pixels.
MAX_FRAME_HEIGHT = 4_000


def external_question_xml(url: str, *, frame_height: int) -> str:
    if not 0 <= frame_height <= MAX_FRAME_HEIGHT:
        raise ValueError(
            f"Frame height must be 0 (whole window) or up to {MAX_FRAME_HEIGHT} pixels, not {frame_height}."
        )
    root = ElementTree.Element("ExternalQuestion", xmlns=EXTERNAL_QUESTION_NS)
    ElementTree.SubElement(root, "ExternalURL").text = url
    ElementTree.SubElement(root, "FrameHeight").text = str(frame_height)
    xml = '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode")
    if len(xml.encode()) > MAX_QUESTION_BYTES:
        raise ValueError("The ExternalQuestion is larger than MTurk's 64 KB limit; shorten the task URL.")
    return xml


def parse_external_question(xml: str) -> tuple[str, int]:
    """(url, frame height) of an ExternalQuestion document; used to verify what MTurk holds."""
    root = ElementTree.fromstring(xml)
    ns = {"q": EXTERNAL_QUESTION_NS}
    url = root.findtext("q:ExternalURL", namespaces=ns)
    height = root.findtext("q:FrameHeight", namespaces=ns)
    if url is None or height is None:
        raise ValueError("Not an ExternalQuestion document.")
    return url.strip(), int(height)
