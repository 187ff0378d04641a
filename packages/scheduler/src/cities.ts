import type { RegionId } from '@idlegrid/domain';
import type { LatLon } from './geo.ts';

/** A real city, the idlegrid region it belongs to and a relative weight for how many devices it hosts. */
export interface WorldCity extends LatLon {
  readonly name: string;
  readonly region: RegionId;
  /** Relative device density (1 = typical), used by synthetic worlds. */
  readonly weight: number;
}

function city(name: string, latitude: number, longitude: number, region: string, weight = 1): WorldCity {
  return { name, latitude, longitude, region: region as RegionId, weight };
}

/** 60 real cities over every region except `local`, for synthetic worlds and benchmarks. */
export const WORLD_CITIES: readonly WorldCity[] = [
  city('Ashburn', 39.04, -77.49, 'us-east', 3),
  city('New York', 40.71, -74.01, 'us-east', 3),
  city('Atlanta', 33.75, -84.39, 'us-east', 2),
  city('Miami', 25.76, -80.19, 'us-east'),
  city('Boston', 42.36, -71.06, 'us-east'),
  city('Dallas', 32.78, -96.8, 'us-central', 2),
  city('Chicago', 41.88, -87.63, 'us-central', 2),
  city('Denver', 39.74, -104.99, 'us-central'),
  city('San Jose', 37.34, -121.89, 'us-west', 3),
  city('Los Angeles', 34.05, -118.24, 'us-west', 2),
  city('Phoenix', 33.45, -112.07, 'us-west'),
  city('Portland', 45.52, -122.68, 'us-northwest'),
  city('Seattle', 47.61, -122.33, 'us-northwest', 2),
  city('Montreal', 45.5, -73.57, 'ca-central'),
  city('Toronto', 43.65, -79.38, 'ca-central', 2),
  city('Sao Paulo', -23.55, -46.63, 'sa-east', 2),
  city('Rio de Janeiro', -22.91, -43.17, 'sa-east'),
  city('Buenos Aires', -34.6, -58.38, 'sa-east'),
  city('Santiago', -33.45, -70.67, 'sa-east', 0.5),
  city('Bogota', 4.71, -74.07, 'sa-east', 0.5),
  city('Dublin', 53.35, -6.26, 'eu-west'),
  city('Paris', 48.86, 2.35, 'eu-west', 2),
  city('Amsterdam', 52.37, 4.9, 'eu-west', 2),
  city('Madrid', 40.42, -3.7, 'eu-west'),
  city('London', 51.51, -0.13, 'uk-south', 3),
  city('Manchester', 53.48, -2.24, 'uk-south'),
  city('Frankfurt', 50.11, 8.68, 'eu-central', 3),
  city('Berlin', 52.52, 13.4, 'eu-central', 2),
  city('Warsaw', 52.23, 21.01, 'eu-central'),
  city('Vienna', 48.21, 16.37, 'eu-central'),
  city('Zurich', 47.38, 8.54, 'eu-central'),
  city('Stockholm', 59.33, 18.07, 'eu-north'),
  city('Helsinki', 60.17, 24.94, 'eu-north'),
  city('Oslo', 59.91, 10.75, 'eu-north', 0.5),
  city('Milan', 45.46, 9.19, 'eu-south'),
  city('Rome', 41.9, 12.5, 'eu-south'),
  city('Dubai', 25.2, 55.27, 'me-central'),
  city('Riyadh', 24.71, 46.68, 'me-central'),
  city('Tel Aviv', 32.09, 34.78, 'me-central'),
  city('Johannesburg', -26.2, 28.05, 'af-south'),
  city('Cape Town', -33.92, 18.42, 'af-south', 0.5),
  city('Nairobi', -1.29, 36.82, 'af-south', 0.5),
  city('Lagos', 6.52, 3.38, 'af-south', 0.5),
  city('Mumbai', 19.08, 72.88, 'ap-south', 2),
  city('Delhi', 28.61, 77.21, 'ap-south'),
  city('Bangalore', 12.97, 77.59, 'ap-south', 2),
  city('Chennai', 13.08, 80.27, 'ap-south'),
  city('Singapore', 1.35, 103.82, 'ap-southeast', 3),
  city('Jakarta', -6.21, 106.85, 'ap-southeast'),
  city('Bangkok', 13.76, 100.5, 'ap-southeast'),
  city('Kuala Lumpur', 3.14, 101.69, 'ap-southeast'),
  city('Hong Kong', 22.32, 114.17, 'ap-east', 2),
  city('Taipei', 25.03, 121.57, 'ap-east'),
  city('Manila', 14.6, 120.98, 'ap-east', 0.5),
  city('Tokyo', 35.68, 139.69, 'ap-northeast', 3),
  city('Osaka', 34.69, 135.5, 'ap-northeast'),
  city('Seoul', 37.57, 126.98, 'kr-central', 2),
  city('Sydney', -33.87, 151.21, 'au-east', 2),
  city('Melbourne', -37.81, 144.96, 'au-east'),
  city('Auckland', -36.85, 174.76, 'au-east', 0.5),
];
