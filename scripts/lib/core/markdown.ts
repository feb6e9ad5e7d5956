/** Text safe inside one Markdown table cell: pipes escaped, line breaks folded into spaces. Pure. */
export function tableCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
