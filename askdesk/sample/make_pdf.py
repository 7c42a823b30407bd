"""Rebuild docs/billing/invoice-guide.pdf for the Tidewire sample knowledge base.

Usage (from the repository root, with the dev extras installed):

    python askdesk/sample/make_pdf.py

Requires fpdf2 (``pip install fpdf2``). The output is deterministic: the
creation date is fixed so that rebuilding without content changes gives the
same text. Only the built-in Helvetica font is used, so text must stay
within Latin-1 (no arrows, em dashes or euro signs).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fpdf import FPDF

OUT = Path(__file__).resolve().parent / "docs" / "billing" / "invoice-guide.pdf"

TITLE = "Tidewire Invoice and Payment Guide"

# (kind, text) where kind is "h1", "h2", "p" or "li".
CONTENT: list[tuple[str, str]] = [
    ("h1", TITLE),
    ("p", "Version 2025-09. This guide is for Owners and billing contacts of Team and "
          "Business workspaces. It explains where to find invoices, how to pay, how taxes "
          "are handled, what happens when a payment fails and when refunds are possible. "
          "Plan prices and limits are listed on the Plans and pricing page of the "
          "documentation at https://docs.tidewire.example/billing/plans."),

    ("h2", "1. Finding your invoices"),
    ("p", "Invoices are available to workspace Owners in the dashboard under Settings > "
          "Billing > Invoices (https://app.tidewire.example/settings/billing). Each invoice "
          "can be downloaded as a PDF. From the command line:"),
    ("li", "tw billing invoices list"),
    ("li", "tw billing invoices download TW-2025-004217 -o invoice.pdf"),
    ("p", "Every invoice is also emailed to the workspace Owners and to the billing "
          "contacts of the workspace when it is issued."),

    ("h2", "2. Invoice numbers and dates"),
    ("p", "Invoice numbers use the format TW-YYYY-NNNNNN, for example TW-2025-004217. "
          "An invoice is issued on the first day of each billing period. The plan fee is "
          "charged in advance for the period that starts; usage charges (events above the "
          "included quota and extra members) are charged in arrears for the period that "
          "just ended. Upgrades in the middle of a period produce a separate, pro-rated "
          "upgrade invoice on the day of the upgrade."),

    ("h2", "3. Billing contacts"),
    ("p", "You can add up to 5 billing contacts under Settings > Billing > Contacts. "
          "Billing contacts receive invoices, payment receipts and payment-failure "
          "notices by email. They do not need to be members of the workspace and they "
          "cannot sign in to see anything else. Only Owners can view and download "
          "invoices in the dashboard."),

    ("h2", "4. Payment methods"),
    ("li", "Credit and debit cards: Visa, Mastercard and American Express, on all paid plans."),
    ("li", "SEPA Direct Debit, for billing addresses in the European Economic Area."),
    ("li", "Bank transfer against an invoice with payment terms of net 30 days, for annual "
           "Business subscriptions only."),
    ("p", "We do not accept PayPal, cheques or cryptocurrencies. All prices and invoices are "
          "in US dollars (USD); if your card is in another currency, your bank converts the "
          "amount. To change the payment method, go to Settings > Billing > Payment method. "
          "The new method is used for the next charge, including any open invoice."),

    ("h2", "5. Taxes and VAT"),
    ("p", "Prices exclude taxes. Tidewire Labs B.V. is registered in the Netherlands "
          "(VAT number NL123456789B01)."),
    ("li", "Businesses in the EU outside the Netherlands: enter a valid VAT ID and the "
           "invoice is issued without VAT under the reverse-charge mechanism."),
    ("li", "Businesses in the Netherlands and customers in the EU without a VAT ID: VAT is "
           "added at the rate that applies in the customer's country."),
    ("li", "United States: sales tax is added in states where it is required, based on the "
           "billing address."),
    ("li", "Other countries: no tax is added unless local law requires it."),
    ("p", "Add or change your VAT ID, company name and billing address under Settings > "
          "Billing > Tax details. Changes apply to invoices issued after the change."),

    ("h2", "6. Corrections and purchase orders"),
    ("p", "If an invoice shows the wrong company name, address or VAT ID, email "
          "billing@tidewire.example with the invoice number. We can reissue invoices up to "
          "90 days after their issue date; the original invoice is then cancelled with a "
          "credit note. Business customers can add a purchase order (PO) number under "
          "Settings > Billing > Tax details; it is printed on every future invoice."),

    ("h2", "7. Failed payments"),
    ("p", "If a card payment or direct debit fails, we retry it automatically 1, 3 and 7 "
          "days after the first failure, and each failure is emailed to the Owners and "
          "billing contacts. While a payment is outstanding the workspace is marked as past "
          "due, but everything keeps working."),
    ("p", "If an invoice is still unpaid 14 days after its due date, the workspace is "
          "downgraded to the Free plan. Jobs, endpoints and sources above the Free limits "
          "are paused, not deleted. Paying the open invoice from Settings > Billing restores "
          "the previous plan immediately. Data already deleted because of the shorter Free "
          "retention cannot be recovered."),

    ("h2", "8. Refunds and credits"),
    ("li", "Monthly subscriptions are not refunded for partial months, including when you "
           "downgrade or delete a workspace."),
    ("li", "Annual subscriptions can be refunded pro rata within 30 days of purchase. "
           "After 30 days, annual subscriptions are not refundable."),
    ("li", "Duplicate or mistaken charges are refunded in full, usually within 5 to 10 "
           "business days."),
    ("li", "SLA service credits for Business workspaces are applied to the next invoice. "
           "They are never paid out in cash."),
    ("p", "To request a refund, email billing@tidewire.example from the address of a "
          "workspace Owner and include the invoice number."),

    ("h2", "9. Contact"),
    ("p", "Billing questions: billing@tidewire.example, answered Monday to Friday within one "
          "business day. Postal address: Tidewire Labs B.V., Keizersgracht 100, 1015 AA "
          "Amsterdam, the Netherlands."),
]


def build(out: Path = OUT) -> Path:
    pdf = FPDF(format="A4")
    pdf.set_title(TITLE)
    pdf.set_author("Tidewire Labs B.V.")
    pdf.set_creator("askdesk/sample/make_pdf.py")
    pdf.set_creation_date(dt.datetime(2025, 9, 16, tzinfo=dt.timezone.utc))
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(20, 20, 20)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for kind, text in CONTENT:
        if kind == "h1":
            pdf.set_font("Helvetica", "B", 18)
            pdf.multi_cell(width, 9, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        elif kind == "h2":
            pdf.ln(3)
            pdf.set_font("Helvetica", "B", 13)
            pdf.multi_cell(width, 7, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif kind == "li":
            pdf.set_font("Helvetica", "", 11)
            pdf.set_x(pdf.l_margin + 4)
            pdf.multi_cell(width - 4, 5.5, "- " + text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        else:
            pdf.set_font("Helvetica", "", 11)
            pdf.multi_cell(width, 5.5, text, new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
    out.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(out))
    return out


if __name__ == "__main__":
    print(build())
