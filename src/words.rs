//! Hashes read aloud: the PGP word list.
//!
//! A witness cannot compare 64 hex digits by ear, nor copy them by hand
//! without a slip that nobody notices. The PGP word list (Juola and
//! Zimmermann, 1995, for PGPfone; also used by ZRTP and in IANA's root KSK
//! ceremonies to read hashes aloud) gives each byte a word: bytes at even
//! offsets (0, 2, 4, …) from the 256 two-syllable words of [`EVEN`],
//! bytes at odd offsets from the 256 three-syllable words of [`ODD`]. The
//! two lists are disjoint, so a word read in the wrong place, a word
//! skipped or a word said twice breaks the alternation and is caught at
//! the word where it happened ([`WordsError::WrongList`]), not as a vague
//! mismatch at the end.
//!
//! Every byte of the SHA-256 is encoded: 32 words. A shorter prefix would
//! be easier to read, but a 16-byte prefix leaves 64 bits of collision
//! resistance, within reach of whoever prepares a transcript in advance.
//!
//! The words are printed in lower case (the published list capitalises
//! proper nouns, `Istanbul`, `Pluto`); reading them back ignores case and
//! any spaces, commas, line breaks or line numbers between them. Why this list, and how
//! witnesses use it: `docs/head-words.md`.

use std::fmt;

/// The two-syllable words, for bytes at even offsets, indexed by byte value.
#[rustfmt::skip]
pub const EVEN: [&str; 256] = [
    "aardvark", "absurd", "accrue", "acme", "adrift", "adult", "afflict", "ahead",  // 00
    "aimless", "algol", "allow", "alone", "ammo", "ancient", "apple", "artist",  // 08
    "assume", "athens", "atlas", "aztec", "baboon", "backfield", "backward", "banjo",  // 10
    "beaming", "bedlamp", "beehive", "beeswax", "befriend", "belfast", "berserk", "billiard",  // 18
    "bison", "blackjack", "blockade", "blowtorch", "bluebird", "bombast", "bookshelf", "brackish",  // 20
    "breadline", "breakup", "brickyard", "briefcase", "burbank", "button", "buzzard", "cement",  // 28
    "chairlift", "chatter", "checkup", "chisel", "choking", "chopper", "christmas", "clamshell",  // 30
    "classic", "classroom", "cleanup", "clockwork", "cobra", "commence", "concert", "cowbell",  // 38
    "crackdown", "cranky", "crowfoot", "crucial", "crumpled", "crusade", "cubic", "dashboard",  // 40
    "deadbolt", "deckhand", "dogsled", "dragnet", "drainage", "dreadful", "drifter", "dropper",  // 48
    "drumbeat", "drunken", "dupont", "dwelling", "eating", "edict", "egghead", "eightball",  // 50
    "endorse", "endow", "enlist", "erase", "escape", "exceed", "eyeglass", "eyetooth",  // 58
    "facial", "fallout", "flagpole", "flatfoot", "flytrap", "fracture", "framework", "freedom",  // 60
    "frighten", "gazelle", "geiger", "glitter", "glucose", "goggles", "goldfish", "gremlin",  // 68
    "guidance", "hamlet", "highchair", "hockey", "indoors", "indulge", "inverse", "involve",  // 70
    "island", "jawbone", "keyboard", "kickoff", "kiwi", "klaxon", "locale", "lockup",  // 78
    "merit", "minnow", "miser", "mohawk", "mural", "music", "necklace", "neptune",  // 80
    "newborn", "nightbird", "oakland", "obtuse", "offload", "optic", "orca", "payday",  // 88
    "peachy", "pheasant", "physique", "playhouse", "pluto", "preclude", "prefer", "preshrunk",  // 90
    "printer", "prowler", "pupil", "puppy", "python", "quadrant", "quiver", "quota",  // 98
    "ragtime", "ratchet", "rebirth", "reform", "regain", "reindeer", "rematch", "repay",  // a0
    "retouch", "revenge", "reward", "rhythm", "ribcage", "ringbolt", "robust", "rocker",  // a8
    "ruffled", "sailboat", "sawdust", "scallion", "scenic", "scorecard", "scotland", "seabird",  // b0
    "select", "sentence", "shadow", "shamrock", "showgirl", "skullcap", "skydive", "slingshot",  // b8
    "slowdown", "snapline", "snapshot", "snowcap", "snowslide", "solo", "southward", "soybean",  // c0
    "spaniel", "spearhead", "spellbind", "spheroid", "spigot", "spindle", "spyglass", "stagehand",  // c8
    "stagnate", "stairway", "standard", "stapler", "steamship", "sterling", "stockman", "stopwatch",  // d0
    "stormy", "sugar", "surmount", "suspense", "sweatband", "swelter", "tactics", "talon",  // d8
    "tapeworm", "tempest", "tiger", "tissue", "tonic", "topmost", "tracker", "transit",  // e0
    "trauma", "treadmill", "trojan", "trouble", "tumor", "tunnel", "tycoon", "uncut",  // e8
    "unearth", "unwind", "uproot", "upset", "upshot", "vapor", "village", "virus",  // f0
    "vulcan", "waffle", "wallet", "watchword", "wayside", "willow", "woodlark", "zulu",  // f8
];

/// The three-syllable words, for bytes at odd offsets, indexed by byte value.
#[rustfmt::skip]
pub const ODD: [&str; 256] = [
    "adroitness", "adviser", "aftermath", "aggregate", "alkali", "almighty", "amulet", "amusement",  // 00
    "antenna", "applicant", "apollo", "armistice", "article", "asteroid", "atlantic", "atmosphere",  // 08
    "autopsy", "babylon", "backwater", "barbecue", "belowground", "bifocals", "bodyguard", "bookseller",  // 10
    "borderline", "bottomless", "bradbury", "bravado", "brazilian", "breakaway", "burlington", "businessman",  // 18
    "butterfat", "camelot", "candidate", "cannonball", "capricorn", "caravan", "caretaker", "celebrate",  // 20
    "cellulose", "certify", "chambermaid", "cherokee", "chicago", "clergyman", "coherence", "combustion",  // 28
    "commando", "company", "component", "concurrent", "confidence", "conformist", "congregate", "consensus",  // 30
    "consulting", "corporate", "corrosion", "councilman", "crossover", "crucifix", "cumbersome", "customer",  // 38
    "dakota", "decadence", "december", "decimal", "designing", "detector", "detergent", "determine",  // 40
    "dictator", "dinosaur", "direction", "disable", "disbelief", "disruptive", "distortion", "document",  // 48
    "embezzle", "enchanting", "enrollment", "enterprise", "equation", "equipment", "escapade", "eskimo",  // 50
    "everyday", "examine", "existence", "exodus", "fascinate", "filament", "finicky", "forever",  // 58
    "fortitude", "frequency", "gadgetry", "galveston", "getaway", "glossary", "gossamer", "graduate",  // 60
    "gravity", "guitarist", "hamburger", "hamilton", "handiwork", "hazardous", "headwaters", "hemisphere",  // 68
    "hesitate", "hideaway", "holiness", "hurricane", "hydraulic", "impartial", "impetus", "inception",  // 70
    "indigo", "inertia", "infancy", "inferno", "informant", "insincere", "insurgent", "integrate",  // 78
    "intention", "inventive", "istanbul", "jamaica", "jupiter", "leprosy", "letterhead", "liberty",  // 80
    "maritime", "matchmaker", "maverick", "medusa", "megaton", "microscope", "microwave", "midsummer",  // 88
    "millionaire", "miracle", "misnomer", "molasses", "molecule", "montana", "monument", "mosquito",  // 90
    "narrative", "nebula", "newsletter", "norwegian", "october", "ohio", "onlooker", "opulent",  // 98
    "orlando", "outfielder", "pacific", "pandemic", "pandora", "paperweight", "paragon", "paragraph",  // a0
    "paramount", "passenger", "pedigree", "pegasus", "penetrate", "perceptive", "performance", "pharmacy",  // a8
    "phonetic", "photograph", "pioneer", "pocketful", "politeness", "positive", "potato", "processor",  // b0
    "provincial", "proximate", "puberty", "publisher", "pyramid", "quantity", "racketeer", "rebellion",  // b8
    "recipe", "recover", "repellent", "replica", "reproduce", "resistor", "responsive", "retraction",  // c0
    "retrieval", "retrospect", "revenue", "revival", "revolver", "sandalwood", "sardonic", "saturday",  // c8
    "savagery", "scavenger", "sensation", "sociable", "souvenir", "specialist", "speculate", "stethoscope",  // d0
    "stupendous", "supportive", "surrender", "suspicious", "sympathy", "tambourine", "telephone", "therapist",  // d8
    "tobacco", "tolerance", "tomorrow", "torpedo", "tradition", "travesty", "trombonist", "truncated",  // e0
    "typewriter", "ultimate", "undaunted", "underfoot", "unicorn", "unify", "universe", "unravel",  // e8
    "upcoming", "vacancy", "vagabond", "vertigo", "virginia", "visitor", "vocalist", "voyager",  // f0
    "warranty", "waterloo", "whimsical", "wichita", "wilmington", "wyoming", "yesteryear", "yucatan",  // f8
];

/// The word of `byte` at `offset` (0-based): [`EVEN`] at even offsets,
/// [`ODD`] at odd ones.
pub fn word(offset: usize, byte: u8) -> &'static str {
    let list = if offset % 2 == 0 { &EVEN } else { &ODD };
    list.get(usize::from(byte)).copied().unwrap_or_default()
}

/// `bytes` as words, one per byte.
pub fn encode(bytes: &[u8]) -> Vec<&'static str> {
    bytes
        .iter()
        .enumerate()
        .map(|(offset, byte)| word(offset, *byte))
        .collect()
}

/// Why text is not a sequence of PGP words, or not the expected one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WordsError {
    /// A word that is in neither list.
    #[error("word {position} ({word:?}) is not in the PGP word list: check its spelling")]
    UnknownWord {
        /// 1-based.
        position: usize,
        /// As given, cut to 40 characters.
        word: String,
    },
    /// A word of the other list: one was skipped, said twice or swapped
    /// just before it.
    #[error(
        "word {position} ({word:?}) is a {found} word where a {expected} one belongs: a word before it was skipped, repeated or swapped"
    )]
    WrongList {
        /// 1-based.
        position: usize,
        /// As given.
        word: String,
        /// `two-syllable` or `three-syllable`.
        expected: &'static str,
        /// The other.
        found: &'static str,
    },
    /// Not the number of words the digest needs.
    #[error("{found} words given; a SHA-256 is {expected} words (or 64 hex digits)")]
    Count {
        /// How many were given.
        found: usize,
        /// How many are needed.
        expected: usize,
    },
}

fn kind(offset: usize) -> &'static str {
    if offset % 2 == 0 {
        "two-syllable"
    } else {
        "three-syllable"
    }
}

/// Reads words back into bytes: case is ignored, and so are spaces,
/// commas, dashes, line breaks and the numbers of [`Digest::word_lines`]
/// between words.
pub fn decode(text: &str) -> Result<Vec<u8>, WordsError> {
    let mut bytes = Vec::new();
    for (offset, given) in text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '-')
        .filter(|w| !w.is_empty() && !w.bytes().all(|b| b.is_ascii_digit()))
        .enumerate()
    {
        let lower = given.to_ascii_lowercase();
        let find = |list: &[&str; 256]| list.iter().position(|w| *w == lower);
        let (own, other) = if offset % 2 == 0 {
            (find(&EVEN), find(&ODD))
        } else {
            (find(&ODD), find(&EVEN))
        };
        match (own, other) {
            (Some(byte), _) => bytes.push(u8::try_from(byte).unwrap_or_default()),
            (None, Some(_)) => {
                return Err(WordsError::WrongList {
                    position: offset + 1,
                    word: given.to_owned(),
                    expected: kind(offset),
                    found: kind(offset + 1),
                });
            }
            (None, None) => {
                return Err(WordsError::UnknownWord {
                    position: offset + 1,
                    word: given.chars().take(40).collect(),
                });
            }
        }
    }
    Ok(bytes)
}

/// A SHA-256 digest that people read: a transcript head, a root.json.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest([u8; 32]);

/// Text that is neither a SHA-256 in hex nor its 32 words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestError {
    /// The words do not read back.
    #[error(transparent)]
    Words(#[from] WordsError),
    /// Hex of the wrong length, or with other characters.
    #[error("not a SHA-256: give 64 hex digits (optionally after `sha256:`) or its 32 words")]
    Hex,
}

impl Digest {
    /// The digest of these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// SHA-256 of `data`.
    pub fn of(data: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(sha2::Sha256::digest(data).into())
    }

    /// Reads `sha256:<hex>`, bare hex (either case), or the 32 words.
    pub fn parse(text: &str) -> Result<Self, DigestError> {
        let trimmed = text.trim();
        let hex_part = trimmed.strip_prefix("sha256:").unwrap_or(trimmed);
        if hex_part.len() == 64 && hex_part.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| DigestError::Hex)?;
            return Ok(Self(bytes));
        }
        // One "word" of hex digits, or `sha256:` in front: hex that is
        // not 64 digits long, not words.
        let hexlike = !trimmed.contains(char::is_whitespace)
            && (trimmed.starts_with("sha256:") || hex_part.bytes().all(|b| b.is_ascii_hexdigit()));
        if hexlike {
            return Err(DigestError::Hex);
        }
        let bytes = decode(trimmed)?;
        let bytes: [u8; 32] = bytes.as_slice().try_into().map_err(|_| WordsError::Count {
            found: bytes.len(),
            expected: 32,
        })?;
        Ok(Self(bytes))
    }

    /// `sha256:<lower-case hex>`, as transcripts write hashes.
    pub fn to_prefixed_hex(&self) -> String {
        format!("sha256:{}", hex::encode(self.0))
    }

    /// The 64 hex digits alone, as `sha256sum` prints them.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The 32 words, space-separated.
    pub fn words(&self) -> String {
        encode(&self.0).join(" ")
    }

    /// The 32 words in 4 lines of 8, numbered from 1, for reading aloud
    /// and copying by hand: `1-8   word word …`.
    pub fn word_lines(&self) -> Vec<String> {
        encode(&self.0)
            .chunks(8)
            .enumerate()
            .map(|(i, chunk)| {
                format!(
                    "{:>5}  {}",
                    format!("{}-{}", i * 8 + 1, i * 8 + chunk.len()),
                    chunk.join(" ")
                )
            })
            .collect()
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_prefixed_hex())
    }
}

impl fmt::Display for Digest {
    /// `sha256:<hex>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_prefixed_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_lists_have_their_published_shape() {
        let even: BTreeSet<&str> = EVEN.iter().copied().collect();
        let odd: BTreeSet<&str> = ODD.iter().copied().collect();
        assert_eq!((even.len(), odd.len()), (256, 256), "a word twice");
        assert!(even.is_disjoint(&odd), "a word in both lists");
        assert_eq!((EVEN[0], EVEN[255]), ("aardvark", "zulu"));
        assert_eq!((ODD[0], ODD[255]), ("adroitness", "yucatan"));
        for w in EVEN.iter().chain(ODD.iter()) {
            assert!(w.bytes().all(|b| b.is_ascii_lowercase()), "{w}");
        }
        // The lists as a whole, so that no word can change unnoticed:
        // SHA-256 of both lists, each word followed by a newline.
        let mut all = String::new();
        for w in EVEN.iter().chain(ODD.iter()) {
            all.push_str(w);
            all.push('\n');
        }
        assert_eq!(
            Digest::of(all.as_bytes()).to_hex(),
            "0847bcad4a09374ec628019e7c3e3eeee1dfa2f3870168eaa306310eeda40ff5"
        );
    }

    /// The worked example published with the list (Wikipedia, "PGP word
    /// list"), which other implementations test against too.
    #[test]
    fn the_published_example_encodes_and_decodes() {
        let bytes = hex::decode("E58294F2E9A227486E8B061B31CC528FD7FA3F19").unwrap();
        let words = "topmost istanbul pluto vagabond treadmill pacific brackish dictator \
                     goldfish medusa afflict bravado chatter revolver dupont midsummer \
                     stopwatch whimsical cowbell bottomless";
        assert_eq!(encode(&bytes).join(" "), words);
        assert_eq!(decode(words).unwrap(), bytes);
        // As published, capitalised, with commas and line breaks.
        assert_eq!(
            decode("Topmost Istanbul, Pluto\nVagabond").unwrap(),
            [0xE5, 0x82, 0x94, 0xF2]
        );
        assert_eq!(encode(&[0xFF, 0xFF]), ["zulu", "yucatan"]);
    }

    #[test]
    fn every_byte_round_trips_at_both_parities() {
        for byte in 0..=255u8 {
            let words = encode(&[byte, byte]);
            assert_eq!(decode(&words.join(" ")).unwrap(), [byte, byte]);
        }
    }

    #[test]
    fn a_skipped_repeated_or_swapped_word_is_caught_where_it_happened() {
        let skipped = "topmost pluto vagabond";
        assert!(matches!(
            decode(skipped),
            Err(WordsError::WrongList { position: 2, .. })
        ));
        let repeated = "topmost istanbul istanbul pluto";
        assert!(matches!(
            decode(repeated),
            Err(WordsError::WrongList { position: 3, .. })
        ));
        let swapped = "istanbul topmost";
        assert!(matches!(
            decode(swapped),
            Err(WordsError::WrongList { position: 1, .. })
        ));
        assert!(matches!(
            decode("topmost istanbol"),
            Err(WordsError::UnknownWord { position: 2, .. })
        ));
    }

    #[test]
    fn a_digest_reads_from_hex_or_words_and_nothing_else() {
        let d = Digest::of(b"ceremony");
        for text in [
            d.to_prefixed_hex(),
            d.to_hex(),
            d.to_hex().to_uppercase(),
            d.words(),
        ] {
            assert_eq!(Digest::parse(&text).unwrap(), d, "{text}");
        }
        assert_eq!(Digest::parse(&d.word_lines().join("\n")).unwrap(), d);
        assert_eq!(d.word_lines().len(), 4);
        assert!(d.word_lines()[0].starts_with("  1-8  "));
        assert_eq!(Digest::parse("sha256:abc"), Err(DigestError::Hex));
        assert_eq!(Digest::parse(&d.to_hex()[..63]), Err(DigestError::Hex));
        let short: Vec<&str> = d.words().split(' ').take(30).map(|_| "x").collect();
        assert!(Digest::parse(&short.join(" ")).is_err());
        let thirty: Vec<&str> = encode(&d.as_bytes()[..30]);
        assert_eq!(
            Digest::parse(&thirty.join(" ")),
            Err(DigestError::Words(WordsError::Count {
                found: 30,
                expected: 32
            }))
        );
    }
}
