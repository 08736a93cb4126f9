package mailin

import "testing"

func TestStripReply(t *testing.T) {
	cases := []struct {
		name, text, want string
	}{
		{
			name: "GmailAttribution",
			text: "Thanks!\n\nOn Mon, Jan 5, 2026 at 6:40 PM Alice <a@x.com> wrote:\n> old\n> text\n",
			want: "Thanks!",
		},
		{
			name: "GmailWrappedAttribution",
			text: "Thanks!\n\nOn Mon, Jan 5, 2026 at 6:40 PM Alice Martin via projblog <\nreply+4f@blog.example.com> wrote:\n\n> old\n",
			want: "Thanks!",
		},
		{
			name: "GmailFrenchWrapped",
			text: "Merci !\n\nLe lun. 5 janv. 2026 à 18:40, Alice Martin <alice@example.com> a\nécrit :\n\n> ancien\n",
			want: "Merci !",
		},
		{
			name: "FrenchNonBreakingSpace",
			text: "D'accord.\n\nLe 05/01/2026 à 18:40, Alice Martin a écrit\u00a0:\n> ancien\n",
			want: "D'accord.",
		},
		{
			name: "FrenchNarrowNoBreakSpace",
			text: "D'accord.\n\nLe 05/01/2026 à 18:40, Alice Martin a écrit\u202f:\n> ancien\n",
			want: "D'accord.",
		},
		{
			name: "ThunderbirdAttribution",
			text: "OK.\n\nOn 1/5/26 6:40 PM, Alice Martin wrote:\n> old\n",
			want: "OK.",
		},
		{
			name: "GermanAttribution",
			text: "Passt.\n\nAm 05.01.2026 um 18:40 schrieb Alice Martin <alice@example.com>:\n> alt\n",
			want: "Passt.",
		},
		{
			name: "AppleMailQuotedAttribution",
			text: "Sure.\n\n> On 3 Jan 2026, at 10:02, Alice Martin <alice@example.com> wrote:\n>\n> old\n",
			want: "Sure.",
		},
		{
			name: "AppleMailAttribution",
			text: "Sure.\n\nOn 3 Jan 2026, at 10:02, Alice Martin <alice@example.com> wrote:\n\n> old\n",
			want: "Sure.",
		},
		{
			name: "LooseAttribution",
			text: "Agreed.\n\nAlice Martin <alice@example.com> wrote:\n> old\n",
			want: "Agreed.",
		},
		{
			name: "OriginalMessage",
			text: "See below.\n\n-----Original Message-----\nFrom: Alice\nSent: Monday\n\nold\n",
			want: "See below.",
		},
		{
			name: "MessageDOrigine",
			text: "Voir ci-dessous.\n\n----- Message d'origine -----\nDe : Alice\n\nancien\n",
			want: "Voir ci-dessous.",
		},
		{
			name: "ThunderbirdMessageOriginal",
			text: "Vu.\n\n-------- Message original --------\nSujet : x\n\nancien\n",
			want: "Vu.",
		},
		{
			name: "ThunderbirdOriginalMessage",
			text: "Seen.\n\n-------- Original Message --------\nSubject: x\n\nold\n",
			want: "Seen.",
		},
		{
			name: "OutlookHeaderBlock",
			text: "Done.\n\n________________________________\nFrom: Alice Martin <alice@example.com>\nSent: Monday, January 5, 2026 6:40 PM\nTo: Bob\nSubject: Release\n\nold\n",
			want: "Done.",
		},
		{
			name: "OutlookFrenchHeaderBlock",
			text: "C'est fait.\n\nDe : Alice Martin <alice@example.com>\nEnvoyé : lundi 5 janvier 2026 18:40\nÀ : Bob\nObjet : Budget\n\nancien\n",
			want: "C'est fait.",
		},
		{
			name: "OutlookBoldHeaderBlock",
			text: "Done.\n\n* * *\n\n**From:** Alice\\\n**Sent:** Monday\\\n**To:** Bob\\\n**Subject:** x\n\nold\n",
			want: "Done.",
		},
		{
			name: "OutlookFrenchBoldWithNonBreakingSpaces",
			text: "Ok.\n\n**De\u00a0:** Alice\\\n**Envoyé\u00a0:** lundi\\\n**À\u00a0:** Bob\\\n**Objet\u00a0:** x\n\nancien\n",
			want: "Ok.",
		},
		{
			name: "SignatureDashDashSpace",
			text: "Thanks.\n\n-- \nJean Dupont\nCEO\n",
			want: "Thanks.",
		},
		{
			name: "SignatureDashDash",
			text: "Thanks.\n--\nJean\n",
			want: "Thanks.",
		},
		{
			name: "SentFromMyIPhone",
			text: "Yes.\n\nSent from my iPhone\n",
			want: "Yes.",
		},
		{
			name: "SentFromMyAndroid",
			text: "Yes.\n\nSent from my Samsung Galaxy smartphone.\n",
			want: "Yes.",
		},
		{
			name: "EnvoyeDeMonIPhoneThenQuote",
			text: "Oui.\n\nEnvoyé de mon iPhone\n\n> Le 5 janv. 2026 à 18:40, Alice <a@x.com> a écrit :\n> ancien\n",
			want: "Oui.",
		},
		{
			name: "GetOutlookForIOSLink",
			text: "Yes.\n\nGet [Outlook for iOS](https://aka.ms/o0ukef)\n",
			want: "Yes.",
		},
		{
			name: "ObtenirOutlookPourAndroid",
			text: "Oui.\n\nObtenir Outlook pour Android\n",
			want: "Oui.",
		},
		{
			name: "WroteInNormalText",
			text: "I wrote the spec yesterday.\nAlice wrote a reply too.",
			want: "I wrote the spec yesterday.\nAlice wrote a reply too.",
		},
		{
			name: "SentenceEndingInWrote",
			text: "On reflection, here is what Bob wrote:\nThe plan is fine.",
			want: "On reflection, here is what Bob wrote:\nThe plan is fine.",
		},
		{
			name: "SentenceStartingWithOn",
			text: "On it!\nOn Mon, Jan 5, 2026 at 6:40 PM Alice <a@x.com> wrote:\n> old",
			want: "On it!",
		},
		{
			name: "OnlyAQuote",
			text: "On Mon, Jan 5, 2026 at 6:40 PM Alice <a@x.com> wrote:\n> old\n",
			want: "",
		},
		{
			name: "OnlyQuotedLines",
			text: "> old\n> text\n",
			want: "",
		},
		{
			name: "OnlyASignature",
			text: "-- \nJean Dupont\n",
			want: "-- \nJean Dupont",
		},
		{
			// The answers typed between the quotes are kept, the quotes
			// are dropped (they are in the thread already), and a blank
			// line stands where each quote was.
			name: "InlineReply",
			text: "On Mon, Jan 5, 2026 at 6:40 PM Alice <a@x.com> wrote:\n> Can you do A?\n\nYes, done.\n\n> And B?\n\nNext week.\n\n-- \nBob\n",
			want: "Yes, done.\n\nNext week.",
		},
		{
			name: "InlineReplyAfterIntro",
			text: "Answers below.\n\n> A?\nYes.\n> B?\nNo.\n",
			want: "Answers below.\n\nYes.\nNo.",
		},
		{
			name: "BeginForwardedMessageIsContent",
			text: "FYI\n\nBegin forwarded message:\n\nFrom: Dan <dan@x.com>\nSubject: Plan\nDate: 3 January 2026 at 10:02:00 CET\nTo: Bob <bob@x.com>\n\nThe plan.\n",
			want: "FYI\n\nBegin forwarded message:\n\nFrom: Dan <dan@x.com>\nSubject: Plan\nDate: 3 January 2026 at 10:02:00 CET\nTo: Bob <bob@x.com>\n\nThe plan.",
		},
		{
			name: "GmailForwardAfterSignature",
			text: "FYI\n\n-- \nBob\n\n---------- Forwarded message ---------\nFrom: Dan <dan@x.com>\nDate: Mon, Jan 5, 2026\nSubject: Plan\nTo: Bob\n\nThe plan.\n",
			want: "FYI\n\n---------- Forwarded message ---------\nFrom: Dan <dan@x.com>\nDate: Mon, Jan 5, 2026\nSubject: Plan\nTo: Bob\n\nThe plan.",
		},
		{
			name: "FrenchForwardIsContent",
			text: "Pour info.\n\n-------- Message transféré --------\nSujet : Plan\nDe : Dan\n\nLe plan.\n",
			want: "Pour info.\n\n-------- Message transféré --------\nSujet : Plan\nDe : Dan\n\nLe plan.",
		},
		{
			name: "CRLF",
			text: "Thanks!\r\n\r\nOn Mon, Jan 5, 2026 at 6:40 PM Alice <a@x.com> wrote:\r\n> old\r\n",
			want: "Thanks!",
		},
		{
			name: "NothingToStrip",
			text: "\n\nJust text.\n\nTwo paragraphs.\n\n",
			want: "Just text.\n\nTwo paragraphs.",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := StripReply(tc.text); got != tc.want {
				t.Errorf("StripReply =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestNormalizeSubject(t *testing.T) {
	cases := []struct {
		name, subject, want string
	}{
		{"Re", "Re: Budget", "Budget"},
		{"ReSpaceColon", "RE : Budget", "Budget"},
		{"NoSpace", "Re:Budget", "Budget"},
		{"Repeated", "Re: Re: RE: Budget", "Budget"},
		{"Mixed", "Fwd: Re: TR: Budget", "Budget"},
		{"Fw", "Fw: Budget", "Budget"},
		{"German", "AW: WG: Budget", "Budget"},
		{"Ref", "Réf. : Budget", "Budget"},
		{"RefUpper", "RÉF : Budget", "Budget"},
		{"Counted", "Re[2]: Budget", "Budget"},
		{"CountedParens", "Re(3): Budget", "Budget"},
		{"ListTag", "[team] Re: Budget", "Budget"},
		{"TagAfterPrefix", "Re: [team] Re: Budget", "Budget"},
		{"Tags", "[team][ops] Budget", "Budget"},
		{"NonBreakingSpace", "RE\u00a0: Budget", "Budget"},
		{"Spaces", "  Budget   2026\t", "Budget 2026"},
		{"KeepsCase", "re: budget Q1", "budget Q1"},
		{"WordStartingWithRe", "Recap: Q1", "Recap: Q1"},
		{"FrenchWord", "Réunion de lundi", "Réunion de lundi"},
		{"OnlyPrefix", "Re: ", ""},
		{"Nordic", "SV: VS: Budget", "Budget"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NormalizeSubject(tc.subject); got != tc.want {
				t.Errorf("NormalizeSubject(%q) = %q, want %q", tc.subject, got, tc.want)
			}
		})
	}
}
